import Foundation

/// Columns padded to their widest cell, two spaces apart, trailing blanks trimmed.
public enum TextTable {
    public static func lines(_ rows: [[String]], indent: String = "") -> [String] {
        guard let first = rows.first else { return [] }
        let widths = first.indices.map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            let cells = zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
            return indent + String(cells.joined(separator: "  ").reversed().drop { $0 == " " }.reversed())
        }
    }
}
