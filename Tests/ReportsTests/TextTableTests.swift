import Testing
import Reports

@Suite("TextTable")
struct TextTableTests {
    @Test func columnsArePaddedToTheWidestCellAndTrailingBlanksTrimmed() {
        let lines = TextTable.lines([["NAME", "HOST"], ["web-1", "kvm-01"], ["a", ""]], indent: "  ")
        #expect(lines == ["  NAME   HOST", "  web-1  kvm-01", "  a"])
    }

    @Test func noRowsNoLines() {
        #expect(TextTable.lines([]).isEmpty)
    }
}
