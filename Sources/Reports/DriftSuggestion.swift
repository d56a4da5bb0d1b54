import Reconciler
import Spec

/// `vmplan drift --suggest`: for each drifted resource, the manifest edit that keeps the hand
/// change, as a YAML snippet with the live values. Values are written so that YAML reads them back
/// unchanged (text double-quoted with escapes); what is not a simple value is left for a person.
public enum DriftSuggestion {
    public static func render(_ report: DriftReport) -> String {
        let drifted = report.resources.filter { $0.status == .drifted && !$0.fields.isEmpty }
        guard !drifted.isEmpty else { return "# Nothing to suggest: no resource drifted from what vmplan recorded.\n" }
        var lines = ["# In GitOps, keeping a change made on a host is a commit: put these live values in the manifests and commit "
            + "them; until then the next apply puts the recorded values back."]
        for entry in drifted {
            lines += [""] + suggestion(entry)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A comment naming the resource and where it is declared, then its snippet.
    static func suggestion(_ entry: DriftReport.Entry) -> [String] {
        let since = entry.firstSeen.map { "; drifted since \($0.formatted(.iso8601))" } ?? ""
        let header = "# \(entry.kind.rawValue) \(entry.name.terminalSafe) on \(entry.host.terminalSafe)"
        if entry.kind == .mediatedDevice {
            return [header + since, "# derived from a VirtualMachine's vgpus, with no document of its own: nothing to edit"]
        }
        guard let location = entry.location else {
            return [header + since, "# no manifest declares it (only the state records it): nothing to edit"]
        }
        var lines = ["\(header), declared at \(location.terminalSafe)\(since)"]
        for diff in entry.fields {
            if let planned = entry.pending.first(where: { $0.field == diff.field }) {
                lines.append("# the manifests already change \(diff.field.terminalSafe) to \(DriftText.shown(planned.after)) "
                    + "(not applied yet); the live value below replaces that edit")
            }
        }
        lines += ["metadata:", "  name: \(scalar(entry.name))"]
        let labels = entry.kind == .virtualMachine ? entry.fields.first { $0.field == VMField.labels.rawValue } : nil
        if let labels {
            lines += labelLines(labels.after)
        }
        lines.append("spec:")
        for diff in entry.fields where diff.field != labels?.field {
            lines.append(specLine(entry.kind, diff))
        }
        return lines
    }

    /// `  memory: 2GiB`, or a comment when the live value is not one YAML value a person would write.
    static func specLine(_ kind: ResourceKind, _ diff: FieldDiff) -> String {
        let field = diff.field.terminalSafe
        if kind == .network, ["active", "autostart"].contains(diff.field) {
            return "  # \(field): no manifest field; vmplan keeps every network running and autostarted, so the next apply restores it"
        }
        guard let live = diff.after else {
            if kind == .virtualMachine, diff.field == VMField.description.rawValue { return "  \(field): \"\"" }
            return "  # \(field): the host has none; remove it from the manifest"
        }
        guard let value = simpleValue(kind, field: diff.field, live: live) else {
            return "  # \(field): not a simple value; edit it by hand to match the host: \(live.terminalSafe)"
        }
        return "  \(field): \(value)"
    }

    /// The YAML for a live value that maps to one manifest value, checked against what the manifest accepts.
    static func simpleValue(_ kind: ResourceKind, field: String, live: String) -> String? {
        switch (kind, field) {
        case (.virtualMachine, VMField.vcpus.rawValue), (.virtualMachine, VMField.maxVcpus.rawValue):
            return UInt(live).map(String.init)
        case (.virtualMachine, VMField.memory.rawValue), (.virtualMachine, VMField.maxMemory.rawValue), (.volume, "capacity"):
            return ByteCount(parsing: live)?.description
        case (.virtualMachine, VMField.firmware.rawValue): return Firmware(rawValue: live)?.rawValue
        case (.virtualMachine, VMField.machine.rawValue): return MachineType(rawValue: live)?.rawValue
        case (.virtualMachine, VMField.state.rawValue): return PowerState(rawValue: live)?.rawValue
        case (.virtualMachine, VMField.description.rawValue): return doubleQuoted(live)
        case (.volume, "format"): return VolumeFormat(rawValue: live)?.rawValue
        case (.network, "mtu"): return Int(live).flatMap { NetworkSpec.mtuRange.contains($0) ? String($0) : nil }
        case (.network, "domain"): return NetworkNames.isValidDomain(live) ? live : nil
        default: return nil
        }
    }

    /// `metadata.labels` from the form plans show them, `{tier: web, team: a, b}`: a label key never
    /// holds `,` `:` or a space, so a new pair starts only at `, KEY: `.
    static func labelLines(_ live: String?) -> [String] {
        guard let live else { return ["  labels: {}"] }
        guard live.hasPrefix("{"), live.hasSuffix("}"), live.count >= 2 else {
            return ["  # labels: not in the expected form; edit them by hand to match the host: \(live.terminalSafe)"]
        }
        let body = String(live.dropFirst().dropLast())
        guard !body.isEmpty else { return ["  labels: {}"] }
        var pairs: [(key: String, value: String)] = []
        for piece in body.components(separatedBy: ", ") {
            if let colon = piece.range(of: ": "), isLabelKey(piece[..<colon.lowerBound]) {
                pairs.append((String(piece[..<colon.lowerBound]), String(piece[colon.upperBound...])))
            } else if !pairs.isEmpty {
                pairs[pairs.count - 1].value += ", " + piece
            } else {
                return ["  # labels: not in the expected form; edit them by hand to match the host: \(live.terminalSafe)"]
            }
        }
        return ["  # labels: the whole set on the host, in place of the manifest's", "  labels:"]
            + pairs.map { "    \(scalar($0.key)): \(scalar($0.value))" }
    }

    static func isLabelKey(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, isLetter(first) || ("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy(isNameCharacter)
    }

    /// Plain when YAML reads the text back as this same string (`web`, `kvm-01`), double-quoted otherwise.
    static func scalar(_ text: String) -> String {
        let reserved: Set<String> = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
        guard let first = text.unicodeScalars.first, isLetter(first), text.unicodeScalars.allSatisfy(isNameCharacter),
              !reserved.contains(text.lowercased())
        else { return doubleQuoted(text) }
        return text
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isLetter(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_" || scalar == "-" || scalar == "/"
    }

    /// A YAML double-quoted scalar: `\` and `"` escaped, and every control character, line or
    /// paragraph separator and bidirectional mark as an escape, so the text reads back exactly and
    /// shows on one line.
    static func doubleQuoted(_ text: String) -> String {
        "\"" + text.replacingScalars { scalar in
            switch scalar {
            case "\"": "\\\""
            case "\\": "\\\\"
            case "\n": "\\n"
            case "\t": "\\t"
            case "\r": "\\r"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value): "\\x" + hex(scalar.value, digits: 2)
            case "\u{200E}", "\u{200F}", "\u{2028}", "\u{2029}", "\u{202A}"..."\u{202E}", "\u{2066}"..."\u{2069}", "\u{FEFF}":
                "\\u" + hex(scalar.value, digits: 4)
            default: nil
            }
        } + "\""
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
