/// How many hosts a run works on at once when nothing says otherwise: enough to overlap the
/// round trips of a fleet, few enough that a laptop's file descriptors and libvirt threads last.
public let defaultParallelism = 10

/// `body` for every element, at most `limit` at a time; the results in the elements' order. The
/// first error cancels what is still running and is thrown.
func concurrentMap<Element: Sendable, Output: Sendable>(_ elements: [Element], limit: Int,
                                                        _ body: @escaping @Sendable (Element) async throws -> Output) async throws -> [Output] {
    try await withThrowingTaskGroup(of: (Int, Output).self) { group in
        var results = [Output?](repeating: nil, count: elements.count)
        var next = 0
        for _ in 0..<min(max(limit, 1), elements.count) {
            let index = next
            group.addTask { (index, try await body(elements[index])) }
            next += 1
        }
        while let (index, output) = try await group.next() {
            results[index] = output
            if next < elements.count {
                let index = next
                group.addTask { (index, try await body(elements[index])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
