import Components
import Foundation
package import Logging
package import RepositoryCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The offline repository commands (`zentoria-coordinator repo …`): they work with no
/// coordinator running and are the disaster-recovery tool. Each returns the text for stdout.
package struct OfflineTool: Sendable {
    package var logger: Logger
    package var progress: ProgressLine

    package init(logger: Logger, progress: ProgressLine = ProgressLine()) {
        (self.logger, self.progress) = (logger, progress)
    }

    // MARK: - Opening

    /// Reads a password file: its content without one trailing newline.
    package static func readPassword(file: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw OfflineError("cannot read password file \(file)")
        }
        var bytes = Array(data)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw OfflineError("password file \(file) is empty") }
        return bytes
    }

    func open(_ path: String, password: [UInt8]) async throws -> Repository {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw OfflineError("no repository at \(path): the directory does not exist")
        }
        do {
            return try await Repository.open(
                store: FileSystemBlobStore(root: path), password: password, logger: logger)
        } catch let error as RepositoryError where error.code == .notARepository {
            throw OfflineError("no repository at \(path): \(error.message)")
        }
    }

    // MARK: - Commands

    /// `repo init`: creates a repository in a new or empty directory.
    package func initialize(
        path: String, password: [UInt8], config: RepositoryConfig,
        keyDerivation: KeyDerivationParameters
    ) async throws -> String {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: path),
            !entries.isEmpty,
            !entries.contains("config")
        {
            throw OfflineError("\(path) is not empty; a repository needs an empty or new directory")
        }
        let repository = try await Repository.initialize(
            store: FileSystemBlobStore(root: path), password: password, config: config,
            keyDerivation: keyDerivation, logger: logger)
        return "created repository \(repository.config.id) at \(path)\n"
    }

    /// `repo backup`: stores a dump read from `descriptor` as a snapshot.
    package func backup(
        path: String, password: [UInt8], request: BackupRequest, descriptor: Int32, json: Bool
    ) async throws -> String {
        let repository = try await open(path, password: password)
        let progress = self.progress
        let result = try await repository.backup(
            reading: FileDescriptorReader(descriptor: descriptor), request: request
        ) { counters in
            progress.update { elapsed in
                "backup: \(Format.bytes(counters.bytesRead)) read, \(Format.bytes(counters.bytesAdded)) added, "
                    + Format.rate(counters.bytesRead, seconds: elapsed)
            }
        }
        progress.finish()
        let snapshot = result.snapshot
        let seconds = snapshot.endTime.timeIntervalSince(snapshot.startTime)
        if json {
            return try Self.json([
                "id": .string(snapshot.id.description), "bytes": .int(snapshot.size),
                "bytes_added": .int(snapshot.bytesAdded), "chunks": .int(snapshot.chunks.count),
                "new_chunks": .int(result.newChunks), "duration_seconds": .double(seconds),
            ])
        }
        logger.info(
            "backup finished",
            metadata: [
                "snapshot.id": "\(snapshot.id)", "bytes.total": "\(snapshot.size)",
                "bytes.added": "\(snapshot.bytesAdded)",
            ])
        return "\(snapshot.id)\n"
    }

    /// `repo restore`: writes a snapshot's dump to `output` (a path) or to stdout.
    /// A file is written under a temporary name and renamed only when complete.
    package func restore(
        path: String, password: [UInt8], selector: SnapshotSelector, output: String?
    ) async throws {
        let repository = try await open(path, password: password)
        let (snapshots, _) = try await repository.loadSnapshots()
        let snapshot = try selector.resolve(in: snapshots)
        let (index, _, _) = try await repository.loadIndex()
        let temporary = output.map { "\($0).partial" }
        let descriptor: Int32
        if let temporary {
            descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw OfflineError(
                    "cannot create \(temporary): \(String(cString: strerror(errno)))")
            }
        } else {
            descriptor = 1
        }
        let progress = self.progress
        do {
            try await repository.restore(
                snapshot, index: index,
                to: { bytes in
                    try Self.writeAll(descriptor, bytes)
                },
                progress: { counters in
                    progress.update { elapsed in
                        "restore: \(Format.bytes(counters.bytesWritten)) of \(Format.bytes(counters.totalBytes)), "
                            + Format.rate(counters.bytesWritten, seconds: elapsed)
                    }
                })
            progress.finish()
            if let temporary, let output {
                guard fsync(descriptor) == 0, close(descriptor) == 0, rename(temporary, output) == 0
                else {
                    throw OfflineError(
                        "cannot finish \(output): \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            progress.finish()
            if let temporary {
                close(descriptor)
                unlink(temporary)
            }
            throw error
        }
    }

    /// `repo snapshots`: a table, or JSON.
    package func snapshots(
        path: String, password: [UInt8], agent: String?, component: String?, json: Bool
    ) async throws -> String {
        let repository = try await open(path, password: password)
        let (all, unreadable) = try await repository.loadSnapshots()
        for failure in unreadable {
            logger.warning(
                "unreadable snapshot",
                metadata: ["object": "\(failure.name)", "error": "\(failure.error)"])
        }
        let snapshots = all.filter {
            (agent == nil || $0.agent == agent) && (component == nil || $0.component == component)
        }
        if json {
            return try Self.json(.array(snapshots.map(Self.jsonValue)))
        }
        var rows = [["ID", "Time", "Agent", "Component", "Kind", "Size", "Added", "Tags"]]
        for snapshot in snapshots {
            rows.append([
                snapshot.id.shortDescription, Self.localTime(snapshot.startTime), snapshot.agent,
                snapshot.component,
                snapshot.kind, Format.bytes(snapshot.size), Format.bytes(snapshot.bytesAdded),
                snapshot.tags.joined(separator: ","),
            ])
        }
        return Self.table(rows) + "\(snapshots.count) snapshot(s)\n"
    }

    /// `repo check`: the report, and whether the repository is healthy.
    package func check(
        path: String, password: [UInt8], reading: DataReading, json: Bool
    ) async throws -> (String, Bool) {
        let repository = try await open(path, password: password)
        let progress = self.progress
        let report = try await repository.check(reading: reading) { counters in
            progress.update { elapsed in
                "check: \(counters.packsRead)/\(counters.packsToRead) packs, \(Format.bytes(counters.bytesRead)), "
                    + Format.rate(counters.bytesRead, seconds: elapsed)
            }
        }
        progress.finish()
        if json {
            let text = try Self.json([
                "healthy": .bool(report.isHealthy), "snapshots": .int(report.snapshotCount),
                "packs": .int(report.packCount),
                "packs_read": .int(report.packsRead), "bytes_read": .int(report.bytesRead),
                "problems": .array(
                    report.problems.map { problem in
                        .object([
                            "kind": .string(problem.kind.rawValue),
                            "message": .string(problem.message),
                            "pack": problem.pack.map { .string($0.description) } ?? .null,
                            "chunk": problem.chunk.map { .string($0.description) } ?? .null,
                            "object": problem.object.map { .string($0) } ?? .null,
                        ])
                    }),
                "affected_snapshots": .array(
                    report.affectedSnapshots.map { .string($0.description) }),
                "notes": .array(report.notes.map { .string($0) }),
            ])
            return (text, report.isHealthy)
        }
        var text = "checked \(report.snapshotCount) snapshot(s), \(report.packCount) pack(s)"
        if report.packsRead > 0 {
            text += ", read \(report.packsRead) pack(s) (\(Format.bytes(report.bytesRead)))"
        }
        text += "\n"
        for note in report.notes { text += "note: \(note)\n" }
        for problem in report.problems { text += "error: \(problem)\n" }
        if !report.affectedSnapshots.isEmpty {
            text +=
                "snapshots affected: "
                + report.affectedSnapshots.map(\.description).joined(separator: " ") + "\n"
        }
        text += report.isHealthy ? "no errors found\n" : "\(report.problems.count) error(s) found\n"
        return (text, report.isHealthy)
    }

    /// `repo forget`: removes snapshots (data stays until prune).
    package func forget(
        path: String, password: [UInt8], selectors: [SnapshotSelector]
    ) async throws -> String {
        let repository = try await open(path, password: password)
        let (snapshots, _) = try await repository.loadSnapshots()
        let chosen = try selectors.map { try $0.resolve(in: snapshots) }
        var unique: [SnapshotID] = []
        for snapshot in chosen where !unique.contains(snapshot.id) { unique.append(snapshot.id) }
        try await repository.forget(unique)
        return unique.map { "forgot \($0)\n" }.joined()
    }

    /// `repo prune`: removes unreferenced data.
    package func prune(
        path: String, password: [UInt8], dryRun: Bool, repackThreshold: Double,
        waitForWriters: Duration
    ) async throws -> String {
        let repository = try await open(path, password: password)
        let report = try await repository.prune(
            repackThreshold: repackThreshold, dryRun: dryRun, waitForWriters: waitForWriters,
            progress: { step in self.progress.update { "prune: \(step) (\(Int($0)) s)" } })
        progress.finish()
        if dryRun { return "would \(report.plan)\n" }
        var text =
            "\(report.plan)\nwrote \(report.packsWritten) pack(s), deleted \(report.packsDeleted) pack(s) "
            + "(\(Format.bytes(report.bytesDeleted)))\n"
        if report.followUp == nil, !report.plan.toAnnounce.isEmpty {
            text +=
                "\(report.plan.toAnnounce.count) pack(s) announced for deletion wait for running operations; "
                + "the next prune after they end deletes them\n"
        } else if report.packsWaiting > 0 {
            text += "\(report.packsWaiting) pack(s) still wait for running operations\n"
        }
        return text
    }

    /// `repo rebuild-index`: a new index from the pack headers alone.
    package func rebuildIndex(path: String, password: [UInt8]) async throws -> String {
        let repository = try await open(path, password: password)
        let report = try await repository.rebuildIndex()
        var text =
            "indexed \(report.packsIndexed) pack(s); replaced \(report.indexObjectsReplaced) index object(s)\n"
        for (pack, error) in report.unreadablePacks {
            text += "warning: pack \(pack) left out: \(error)\n"
        }
        return text
    }

    /// `repo stats`.
    package func stats(path: String, password: [UInt8], json: Bool) async throws -> String {
        let repository = try await open(path, password: password)
        let stats = try await repository.stats()
        if json {
            return try Self.json([
                "snapshots": .int(stats.snapshots), "logical_bytes": .int(stats.logicalBytes),
                "unique_chunks": .int(stats.uniqueChunks), "unique_bytes": .int(stats.uniqueBytes),
                "stored_chunk_bytes": .int(stats.storedChunkBytes), "packs": .int(stats.packs),
                "pack_bytes": .int(stats.packBytes),
                "dedup_ratio": .double(stats.deduplicationRatio),
                "compression_ratio": .double(stats.compressionRatio),
            ])
        }
        return Self.table([
            ["Snapshots", "\(stats.snapshots)"],
            ["Logical size", Format.bytes(stats.logicalBytes)],
            ["Unique chunks", "\(stats.uniqueChunks)"],
            ["Unique size", Format.bytes(stats.uniqueBytes)],
            ["Stored (compressed, sealed)", Format.bytes(stats.storedChunkBytes)],
            ["Packs", "\(stats.packs) (\(Format.bytes(stats.packBytes)))"],
            ["Deduplication ratio", String(format: "%.2fx", stats.deduplicationRatio)],
            ["Compression ratio", String(format: "%.2fx", stats.compressionRatio)],
        ])
    }

    // MARK: - Output helpers

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OfflineError(
                        "writing the restored dump failed: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    static func jsonValue(_ snapshot: Snapshot) -> JSONValue {
        .object([
            "id": .string(snapshot.id.description),
            "short_id": .string(snapshot.id.shortDescription),
            "agent": .string(snapshot.agent), "component": .string(snapshot.component),
            "kind": .string(snapshot.kind),
            "tags": .array(snapshot.tags.map { .string($0) }),
            "hostname": .string(snapshot.hostname),
            "start_time": .string(Timestamp.format(snapshot.startTime)),
            "end_time": .string(Timestamp.format(snapshot.endTime)),
            "size": .int(snapshot.size), "bytes_added": .int(snapshot.bytesAdded),
            "chunks": .int(snapshot.chunks.count),
        ])
    }

    static func json(_ object: [String: JSONValue]) throws -> String { try json(.object(object)) }

    static func json(_ value: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    /// `2026-11-27 03:00:00`, in the local zone; with `zone`, in that zone and named.
    static func localTime(_ date: Date, in zone: TimeZone? = nil) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = zone == nil ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm:ss zzz"
        if let zone { formatter.timeZone = zone }
        return formatter.string(from: date)
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1
                    ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// Minimal JSON value for script output with a fixed key order.
enum JSONValue: Encodable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let v): try container.encode(v)
        case .int(let v): try container.encode(v)
        case .double(let v): try container.encode(v)
        case .bool(let v): try container.encode(v)
        case .null: try container.encodeNil()
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }
}
