import Reconciler

/// What the Markdown reports (drift, plan, apply) share: escaping, the lists of foreign domains,
/// and leaving whole sections out from the end to stay under a comment's size limit.
enum Markdown {
    /// Control characters and newlines written out (`terminalSafe`), then every character that
    /// Markdown or HTML could read as syntax as a character reference, which renders as itself.
    static func escaped(_ value: String) -> String { escaped(terminalSafe: value.terminalSafe) }

    /// The same for text that is `terminalSafe` already (a `Diagnostic`): its backslashes stay single.
    static func escaped(terminalSafe value: String) -> String {
        value.replacingScalars { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "|", "`", "\\", "*", "_", "[", "]", "~", "#", "@", "!", "$": "&#\(scalar.value);"
            default: nil
            }
        }
    }

    /// A table cell for a value that may be absent.
    static func cell(_ value: String?) -> String { value.map { escaped($0) } ?? "_none_" }

    /// `compose(count)` when it fits in `limit` UTF-8 bytes, else `compose` of the most leading
    /// sections that fit; `fallback()` when not even `compose(0)` does.
    static func fitting(_ count: Int, limit: Int, compose: (Int) -> String, fallback: () -> String) -> String {
        let everything = compose(count)
        guard everything.utf8.count > limit else { return everything }
        // More sections never make the text shorter (the left-out line aside), so search for the most that fit.
        var fits = -1, tooMany = count
        while tooMany - fits > 1 {
            let middle = (fits + tooMany) / 2
            if compose(middle).utf8.count <= limit { fits = middle } else { tooMany = middle }
        }
        return fits >= 0 ? compose(fits) : fallback()
    }

    /// Domains vmplan leaves alone, a few per host: those without its marker, and those with a
    /// marker that no manifest names and this state did not record.
    static func foreignDomains(unmanaged: [UnmanagedDomain], orphaned: [UnmanagedDomain], shown: Int) -> [String] {
        var lines: [String] = []
        for (domains, heading) in [(unmanaged, "**Unmanaged domains** (not created by vmplan; never changed or deleted):"),
                                   (orphaned, "**Domains with vmplan's marker** that no manifest names and this state did not record:")]
            where !domains.isEmpty {
            lines += ["", heading, ""]
            lines += DomainsByHost.group(domains, shown: shown).map { group in
                let names = group.shown.map { escaped($0.name) + ($0.isRunning ? " (running)" : "") }.joined(separator: ", ")
                return "- \(escaped(group.host)): \(names)\(group.more > 0 ? ", and \(group.more) more" : "")"
            }
        }
        return lines
    }
}
