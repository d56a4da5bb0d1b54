/// Names of resources become libvirt domain names, XML text and parts of file paths,
/// so only a conservative alphabet is allowed.
public enum ResourceName {
    public static let maximumLength = 63
    public static let rule = "1 to 63 characters: letters, digits, '.', '_' and '-', starting with a letter or digit"

    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= maximumLength else { return false }
        func allowed(_ s: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
        }
        guard allowed(first) else { return false }
        return name.unicodeScalars.allSatisfy { allowed($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }
}
