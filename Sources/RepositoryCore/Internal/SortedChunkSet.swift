/// A set of chunk IDs held as one sorted array: 32 bytes per ID and no hashing overhead,
/// which keeps prune's memory proportional to the distinct chunks snapshots use.
struct SortedChunkSet: Sendable {
    private(set) var ids: [ChunkID] = []

    init() {}

    init<S: Sequence>(_ ids: S) where S.Element == ChunkID { formUnion(Array(ids)) }

    var count: Int { ids.count }

    /// Adds `more` (in any order, with repeats) by one merge of two sorted arrays.
    mutating func formUnion(_ more: [ChunkID]) {
        guard !more.isEmpty else { return }
        let incoming = more.sorted()
        var merged: [ChunkID] = []
        merged.reserveCapacity(ids.count + incoming.count)
        var i = 0
        var j = 0
        while i < ids.count || j < incoming.count {
            let next: ChunkID
            if j == incoming.count || (i < ids.count && ids[i] <= incoming[j]) {
                next = ids[i]
                i += 1
            } else {
                next = incoming[j]
                j += 1
            }
            if merged.last != next { merged.append(next) }
        }
        ids = merged
    }

    /// The position of `id` in the sorted order, if present.
    func position(of id: ChunkID) -> Int? {
        var low = 0
        var high = ids.count
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low < ids.count && ids[low] == id ? low : nil
    }

    func contains(_ id: ChunkID) -> Bool { position(of: id) != nil }
}
