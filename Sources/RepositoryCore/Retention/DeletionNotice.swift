package import Foundation

/// Packs that prune has announced it will delete, and the lock holders that were live when
/// the announcement became visible (FORMAT.md §10, "Prune").
///
/// Operations that start after a notice is stored see it and stop deduplicating against
/// (and reading from) its packs; prune deletes the packs only once every listed holder has
/// gone, and only those that no snapshot still needs.
package struct DeletionNotice: Sendable {
    /// Object name: random, like a lock's.
    package var name: ObjectName
    package var time: Date
    package var packs: [PackID]
    /// Holders live after the notice was stored; nil if prune stopped before listing them.
    package var writers: [String]?

    private struct Payload: Codable {
        var time: Date
        var packs: [String]
        var writers: [String]?
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return Array(
            try encoder.encode(
                Payload(time: time, packs: packs.map(\.digest.hex), writers: writers)))
    }

    init(name: ObjectName, time: Date, packs: [PackID], writers: [String]?) {
        (self.name, self.time, self.packs, self.writers) = (name, time, packs, writers)
    }

    init(name: ObjectName, decoding bytes: [UInt8]) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        let payload: Payload
        do {
            payload = try decoder.decode(Payload.self, from: Data(bytes))
        } catch {
            throw RepositoryError(
                .malformed, "deletion notice \(name.name) is not valid", cause: error)
        }
        var packs: [PackID] = []
        for hex in payload.packs {
            guard let digest = Digest256(hex: hex) else {
                throw RepositoryError(
                    .malformed, "deletion notice \(name.name) names a malformed pack ID")
            }
            packs.append(PackID(digest))
        }
        self.init(name: name, time: payload.time, packs: packs, writers: payload.writers)
    }
}

extension Repository {
    /// Every deletion notice. An unreadable one fails the call: its packs cannot be told apart
    /// from live ones, so no operation may proceed as if it were absent.
    package func loadDeletionNotices() async throws -> [DeletionNotice] {
        var notices: [DeletionNotice] = []
        for info in try await store.list(.deletions) {
            let bytes: [UInt8]
            do {
                bytes = try await store.get(info.name)
            } catch let error as StorageError where error.code == .notFound {
                continue  // its prune finished meanwhile: its packs are gone or live again
            }
            let plain = try unsealObject(.deletions, bytes, name: info.name.name)
            notices.append(try DeletionNotice(name: info.name, decoding: plain))
        }
        return notices.sorted { $0.time < $1.time }
    }

    /// Packs named by any deletion notice.
    package func packsPendingDeletion() async throws -> Set<PackID> {
        Set(try await loadDeletionNotices().flatMap(\.packs))
    }

    func saveDeletionNotice(_ notice: DeletionNotice) async throws {
        try await store.put(notice.name, try sealObject(.deletions, try notice.encoded()))
    }
}
