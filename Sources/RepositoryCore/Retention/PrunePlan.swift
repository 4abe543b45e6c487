/// What prune will do, computed from values alone so it can be printed, tested and dry-run
/// (FORMAT.md §10, "Prune").
package struct PrunePlan: Sendable, CustomStringConvertible {
    /// Packs that stay as they are.
    package var keep: [PackID] = []
    /// Packs whose used blobs are copied to new packs; the pack is then announced for deletion.
    package var repack: [PackID] = []
    /// Indexed packs holding no used blob: announced for deletion.
    package var remove: [PackID] = []
    /// Stored packs that no index names (leftovers, or a running backup's): announced.
    package var unindexed: [PackID] = []
    /// Used blobs to copy out of `repack` packs.
    package var blobsToCopy: [PackID: [PackEntry]] = [:]
    /// Indexed packs missing from the store that hold no used chunk: dropped from the index.
    package var missing: [PackID] = []
    /// Announced earlier, every holder then live has gone, no snapshot needs them: deleted now.
    package var delete: [PackID] = []
    /// Announced earlier but needed again by a snapshot (a backup that was running when they
    /// were announced references them): they stay and are no longer announced.
    package var revived: [PackID] = []
    /// Announced earlier; some holder live at the announcement still runs.
    package var waiting: [PackID] = []
    /// Used chunks that no stored pack holds: prune refuses to run while there are any.
    package var lostChunks: [ChunkID] = []
    /// Bytes of the packs deleted now.
    package var bytesDeleted = 0
    /// Bytes of the packs announced now (freed by a later round).
    package var bytesAnnounced = 0
    package var bytesRepacked = 0

    /// Packs this plan announces for deletion.
    package var toAnnounce: [PackID] { remove + repack + unindexed }

    /// Whether executing the plan changes anything.
    package var isEmpty: Bool {
        toAnnounce.isEmpty && missing.isEmpty && delete.isEmpty && revived.isEmpty
    }

    package var description: String {
        var text =
            "keep \(keep.count) pack(s), repack \(repack.count) (\(bytesRepacked) bytes to copy), "
            + "announce \(remove.count) unused and \(unindexed.count) unindexed for deletion "
            + "(\(bytesAnnounced) bytes)"
        if !delete.isEmpty || !revived.isEmpty || !waiting.isEmpty {
            text +=
                "; delete \(delete.count) announced earlier (\(bytesDeleted) bytes), "
                + "revive \(revived.count), \(waiting.count) still waiting for running operations"
        }
        return text
    }

    /// The plan for one set of pack records (both planner passes over the same array).
    /// - Parameters:
    ///   - records: every pack record of every index object.
    ///   - used: chunks that some snapshot references.
    ///   - stored: packs present in the store, with their sizes.
    ///   - ready: packs announced earlier whose announcement's holders have all gone.
    ///   - waiting: packs announced earlier whose announcement still waits.
    ///   - repackThreshold: a pack is repacked when at least this fraction of it is unused.
    package static func make(
        records: [IndexFile.PackRecord], used: Set<ChunkID>, stored: [PackID: Int],
        ready: Set<PackID> = [], waiting: Set<PackID> = [], repackThreshold: Double
    ) -> PrunePlan {
        var planner = PrunePlanner(
            used: SortedChunkSet(used), stored: stored, ready: ready, waiting: waiting,
            repackThreshold: repackThreshold)
        for record in records { planner.assign(record) }
        for record in records { planner.classify(record) }
        return planner.finish()
    }
}

/// Builds a ``PrunePlan`` from index records streamed twice, holding per used chunk only its
/// ID and the pack chosen for it (36 bytes), per pack a few words.
struct PrunePlanner {
    private let used: SortedChunkSet
    private let stored: [PackID: Int]
    private let ready: Set<PackID>
    private let waiting: Set<PackID>
    private let repackThreshold: Double
    /// Per used chunk: 1 + ordinal of the pack holding the copy that is kept, 0 for none.
    private var choice: [UInt32]
    private var packs: [PackID] = []
    private var ordinals: [PackID: UInt32] = [:]
    private var indexed = Set<PackID>()
    private var classified = Set<PackID>()
    private var plan = PrunePlan()

    init(
        used: SortedChunkSet, stored: [PackID: Int], ready: Set<PackID>, waiting: Set<PackID>,
        repackThreshold: Double
    ) {
        (self.used, self.stored, self.ready, self.waiting) = (used, stored, ready, waiting)
        self.repackThreshold = repackThreshold
        choice = [UInt32](repeating: 0, count: used.count)
    }

    /// Copies in packs announced for deletion rank after all others; then the lowest pack ID
    /// wins, as in the repository index (FORMAT.md §7).
    private func rank(_ pack: PackID) -> (Int, PackID) {
        (ready.contains(pack) || waiting.contains(pack) ? 1 : 0, pack)
    }

    /// First pass: offers the record's copies of used chunks.
    mutating func assign(_ record: IndexFile.PackRecord) {
        indexed.insert(record.id)
        guard stored[record.id] != nil else { return }
        let ordinal: UInt32
        if let known = ordinals[record.id] {
            ordinal = known
        } else {
            ordinal = UInt32(packs.count)
            packs.append(record.id)
            ordinals[record.id] = ordinal
        }
        let ours = rank(record.id)
        for entry in record.entries {
            guard let position = used.position(of: entry.id) else { continue }
            let current = choice[position]
            if current == 0 || ours < rank(packs[Int(current - 1)]) {
                choice[position] = ordinal + 1
            }
        }
    }

    private func isChosen(_ entry: PackEntry, ordinal: UInt32) -> Bool {
        guard let position = used.position(of: entry.id) else { return false }
        return choice[position] == ordinal + 1
    }

    /// Second pass: decides the fate of the record's pack (the first record per pack counts).
    mutating func classify(_ record: IndexFile.PackRecord) {
        guard let size = stored[record.id], let ordinal = ordinals[record.id],
            classified.insert(record.id).inserted
        else { return }
        let chosen = record.entries.filter { isChosen($0, ordinal: ordinal) }
        if ready.contains(record.id) {
            if chosen.isEmpty {
                plan.delete.append(record.id)
                plan.bytesDeleted += size
            } else {
                plan.revived.append(record.id)
            }
            return
        }
        if waiting.contains(record.id) {
            plan.waiting.append(record.id)
            return
        }
        let usedBytes = chosen.reduce(0) { $0 + $1.length }
        let unusedBytes = record.entries.reduce(0) { $0 + $1.length } - usedBytes
        if chosen.isEmpty {
            plan.remove.append(record.id)
            plan.bytesAnnounced += size
        } else if unusedBytes > 0, Double(unusedBytes) >= repackThreshold * Double(size) {
            plan.repack.append(record.id)
            plan.blobsToCopy[record.id] = chosen
            plan.bytesRepacked += usedBytes
            plan.bytesAnnounced += size
        } else {
            plan.keep.append(record.id)
        }
    }

    /// The plan, with lists sorted by pack ID.
    func finish() -> PrunePlan {
        var plan = self.plan
        for position in choice.indices where choice[position] == 0 {
            plan.lostChunks.append(used.ids[position])
        }
        plan.missing = indexed.filter { stored[$0] == nil }.sorted()
        for (pack, size) in stored where !indexed.contains(pack) {
            if ready.contains(pack) {
                plan.delete.append(pack)
                plan.bytesDeleted += size
            } else if waiting.contains(pack) {
                plan.waiting.append(pack)
            } else {
                plan.unindexed.append(pack)
                plan.bytesAnnounced += size
            }
        }
        plan.keep.sort()
        plan.repack.sort()
        plan.remove.sort()
        plan.unindexed.sort()
        plan.delete.sort()
        plan.revived.sort()
        plan.waiting.sort()
        return plan
    }
}
