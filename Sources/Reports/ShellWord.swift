import Spec

/// A word a POSIX shell reads back exactly, for commands that reports tell people to run.
public enum ShellWord {
    /// `plan.json` as it is; `my plan.json` in single quotes; a name with control characters or
    /// bidirectional marks in bash's `$'…'`, every such character as its UTF-8 bytes (`\xe2\x80\xae`),
    /// so that the command shows no character that could disguise it. A name starting with `-`
    /// gets `./`, so that it is not read as an option.
    public static func quoted(_ path: String) -> String {
        let word = path.hasPrefix("-") ? "./" + path : path
        if !word.isEmpty, word.unicodeScalars.allSatisfy({ plain.contains($0) }) { return word }
        guard word.unicodeScalars.contains(where: isHidden) else {
            return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        return "$'" + word.replacingScalars { scalar in
            switch scalar {
            case "\\": "\\\\"
            case "'": "\\'"
            case _ where isHidden(scalar):
                String(scalar).utf8.map { byte in "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16) }.joined()
            default: nil
            }
        } + "'"
    }

    /// What `terminalSafe` writes out: control characters and bidirectional marks.
    private static func isHidden(_ scalar: Unicode.Scalar) -> Bool { scalar != "\\" && String(scalar).terminalSafe != String(scalar) }

    private static let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,@%".unicodeScalars)
}
