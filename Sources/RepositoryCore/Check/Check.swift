/// How much data `check` reads.
package enum DataReading: Sendable, Hashable {
    /// Structure only: objects exist with the right sizes and reference each other.
    case none
    /// Every pack is read and every blob authenticated.
    case all
    /// A random subset of packs, this percentage of them (at least one when any exist).
    case subset(percent: Double)
}

/// One thing wrong with a repository, with the IDs needed to act on it.
package struct CheckProblem: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable {
        case unreadableIndex = "unreadable index"
        case unreadableSnapshot = "unreadable snapshot"
        case missingPack = "missing pack"
        case packSize = "pack size"
        case damagedPack = "damaged pack"
        case damagedChunk = "damaged chunk"
        case unindexedChunk = "unindexed chunk"
    }
    package var kind: Kind
    package var message: String
    package var pack: PackID?
    package var chunk: ChunkID?
    package var object: String?

    package var description: String {
        var text = "\(kind.rawValue): \(message)"
        if let pack { text += " [pack \(pack)]" }
        if let chunk { text += " [chunk \(chunk)]" }
        return text
    }
}

/// Counters of a running check.
package struct CheckProgress: Sendable {
    package var packsRead = 0
    package var packsToRead = 0
    package var bytesRead = 0
}

/// What `check` found.
package struct CheckReport: Sendable {
    package var problems: [CheckProblem] = []
    /// Not damage: leftovers that prune removes.
    package var notes: [String] = []
    /// Snapshots that cannot be restored completely because of `problems`.
    package var affectedSnapshots: [SnapshotID] = []
    package var snapshotCount = 0
    package var packCount = 0
    package var packsRead = 0
    package var bytesRead = 0

    package var isHealthy: Bool { problems.isEmpty }
}

extension Repository {
    /// Verifies the repository and reports every problem found, not just the first
    /// (FORMAT.md §10, "Check").
    package func check(
        reading: DataReading = .none,
        progress: @escaping @Sendable (CheckProgress) -> Void = { _ in }
    ) async throws -> CheckReport {
        try await withLock(.shared, operation: "check") { _ in
            try await runCheck(reading: reading, progress: progress)
        }
    }

    private func runCheck(
        reading: DataReading, progress: @escaping @Sendable (CheckProgress) -> Void
    ) async throws -> CheckReport {
        var report = CheckReport()
        let (index, _, unreadableIndexes) = try await loadIndex()
        for failure in unreadableIndexes {
            report.problems.append(
                CheckProblem(
                    kind: .unreadableIndex, message: "\(failure.error)", object: failure.name.path))
        }
        let (snapshots, unreadableSnapshots) = try await loadSnapshots()
        report.snapshotCount = snapshots.count
        for failure in unreadableSnapshots {
            report.problems.append(
                CheckProblem(
                    kind: .unreadableSnapshot, message: "\(failure.error)",
                    object: failure.name.path))
        }

        // Packs: every indexed pack exists with its recorded size.
        var stored: [PackID: Int] = [:]
        for info in try await store.list(.data) {
            if let digest = Digest256(hex: info.name.name) {
                stored[PackID(digest)] = info.size
            } else {
                report.notes.append("foreign file \(info.name.path) in the repository")
            }
        }
        report.packCount = index.packCount
        var damagedChunks = Set<ChunkID>()
        var entriesByPack: [PackID: [PackEntry]] = [:]
        index.forEachChunk { id, location in
            entriesByPack[location.pack, default: []].append(location.entry)
        }
        var readable: [(id: PackID, size: Int)] = []
        var needed = Set<ChunkID>()
        for snapshot in snapshots { needed.formUnion(snapshot.chunks) }
        var goingAway = 0
        for (pack, size) in index.packs {
            // A pack announced for deletion that no snapshot needs may vanish at any moment
            // (a prune running beside this check): neither its absence nor its data matter.
            if index.isPendingDeletion(pack),
                !(entriesByPack[pack] ?? []).contains(where: { needed.contains($0.id) })
            {
                goingAway += 1
                continue
            }
            guard let actual = stored[pack] else {
                report.problems.append(
                    CheckProblem(
                        kind: .missingPack, message: "indexed pack is not in the store", pack: pack)
                )
                damagedChunks.formUnion((entriesByPack[pack] ?? []).map(\.id))
                continue
            }
            if actual != size {
                report.problems.append(
                    CheckProblem(
                        kind: .packSize, message: "pack has \(actual) bytes, index says \(size)",
                        pack: pack))
            }
            readable.append((pack, actual))
        }
        if goingAway > 0 {
            report.notes.append("\(goingAway) pack(s) are announced for deletion by prune")
        }
        let unindexed = stored.keys.filter { index.packSize($0) == nil }
        if !unindexed.isEmpty {
            report.notes.append(
                "\(unindexed.count) pack(s) are in no index (left by an interrupted backup or prune); prune removes them"
            )
        }

        // Snapshots: every chunk is indexed.
        for snapshot in snapshots {
            for chunk in snapshot.chunks
            where !index.contains(chunk) && !damagedChunks.contains(chunk) {
                report.problems.append(
                    CheckProblem(
                        kind: .unindexedChunk,
                        message:
                            "snapshot \(snapshot.id.shortDescription) needs a chunk no index lists",
                        chunk: chunk))
                damagedChunks.insert(chunk)
            }
        }

        // Data: read packs and authenticate every blob.
        let toRead: [(id: PackID, size: Int)]
        switch reading {
        case .none: toRead = []
        case .all: toRead = readable
        case .subset(let percent):
            let count =
                readable.isEmpty
                ? 0 : max(1, Int((Double(readable.count) * percent / 100).rounded(.up)))
            toRead = Array(readable.shuffled().prefix(count))
        }
        let counters = ProgressCounter(CheckProgress(packsToRead: toRead.count), report: progress)
        let work = toRead.map { (pack: $0, entries: entriesByPack[$0.id] ?? []) }
        let results = try await work.concurrentMap(limit: 2) { item in
            let pack = item.pack
            let result = await self.readPack(pack.id, indexed: item.entries)
            counters.update {
                $0.packsRead += 1
                $0.bytesRead += pack.size
            }
            return result
        }
        for (problems, chunks) in results {
            report.problems += problems
            damagedChunks.formUnion(chunks)
        }
        report.packsRead = toRead.count
        report.bytesRead = toRead.reduce(0) { $0 + $1.size }
        report.affectedSnapshots = snapshots.filter { !damagedChunks.isDisjoint(with: $0.chunks) }
            .map(\.id)
        return report
    }

    /// Reads one pack; returns its problems and the chunks that cannot be restored from it.
    private func readPack(
        _ pack: PackID, indexed: [PackEntry]
    ) async -> ([CheckProblem], Set<ChunkID>) {
        let bytes: [UInt8]
        do {
            bytes = try await store.get(ObjectName(.data, pack.digest.hex))
        } catch {
            return (
                [
                    CheckProblem(
                        kind: .missingPack, message: "pack cannot be read: \(error)", pack: pack)
                ], Set(indexed.map(\.id))
            )
        }
        var problems: [CheckProblem] = []
        if PackID(SHA256Hasher.digest(bytes)) != pack {
            problems.append(
                CheckProblem(
                    kind: .damagedPack, message: "pack content does not match its name", pack: pack)
            )
        }
        var entries = indexed
        do {
            let header = try Pack.entries(of: bytes, keys: keys)
            let headerSet = Set(header)
            for entry in indexed where !headerSet.contains(entry) {
                problems.append(
                    CheckProblem(
                        kind: .damagedPack, message: "index entry not found in pack header",
                        pack: pack, chunk: entry.id))
            }
            entries = header
        } catch {
            problems.append(
                CheckProblem(
                    kind: .damagedPack, message: "pack header unreadable: \(error)", pack: pack))
        }
        var damaged = Set<ChunkID>()
        for entry in entries {
            guard entry.offset >= 0, entry.offset + entry.length <= bytes.count else {
                problems.append(
                    CheckProblem(
                        kind: .damagedChunk, message: "blob lies outside the pack", pack: pack,
                        chunk: entry.id))
                damaged.insert(entry.id)
                continue
            }
            do {
                _ = try openBlob(bytes[entry.offset..<(entry.offset + entry.length)], entry: entry)
            } catch {
                problems.append(
                    CheckProblem(
                        kind: .damagedChunk, message: "\(error)", pack: pack, chunk: entry.id))
                damaged.insert(entry.id)
            }
        }
        return (problems, damaged)
    }
}
