extension String {
    /// The text with every scalar for which `replacement` returns a string replaced by that string:
    /// the loop Markdown and YAML escaping share; each says only what it escapes.
    func replacingScalars(_ replacement: (Unicode.Scalar) -> String?) -> String {
        var result = ""
        for scalar in unicodeScalars {
            if let text = replacement(scalar) { result += text } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}
