extension Sequence where Element: Sendable {
    /// Maps with at most `limit` transforms running at once; results keep the input order.
    func concurrentMap<T: Sendable>(
        limit: Int, _ transform: @escaping @Sendable (Element) async throws -> T
    ) async throws -> [T] {
        let items = Array(self)
        var results = [T?](repeating: nil, count: items.count)
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var next = 0
            while next < items.count && next < Swift.max(limit, 1) {
                let (index, item) = (next, items[next])
                group.addTask { (index, try await transform(item)) }
                next += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < items.count {
                    let (index, item) = (next, items[next])
                    group.addTask { (index, try await transform(item)) }
                    next += 1
                }
            }
        }
        return results.map { $0! }
    }
}
