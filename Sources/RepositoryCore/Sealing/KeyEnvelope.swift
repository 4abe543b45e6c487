package import Foundation

/// What an operator keeps off-site to open a repository whose own key objects are lost: the
/// repository's config object and one key slot, both exactly as stored (FORMAT.md §2-§3).
/// The slot is sealed by the repository password (scrypt), so the envelope alone opens
/// nothing; with the password it opens every tier of the repository.
package struct KeyEnvelope: Codable, Sendable, Hashable {
    package static let formatName = "zentoria-key-envelope"

    package var format: String
    package var version: Int
    package var repository: String
    package var created: Date
    /// The `config` object's bytes, base64.
    package var config: String
    /// The key slot's object name and bytes, base64.
    package var keySlotName: String
    package var keySlot: String

    enum CodingKeys: String, CodingKey {
        case format, version, repository, created, config
        case keySlotName = "key_slot_name"
        case keySlot = "key_slot"
    }

    /// The envelope as pretty, stable JSON.
    package func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
    }

    /// Reads an envelope.
    /// - Throws: `.invalidArgument` when the bytes are not a key envelope this build reads.
    package init(decoding bytes: [UInt8]) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let envelope = try? decoder.decode(KeyEnvelope.self, from: Data(bytes)),
            envelope.format == Self.formatName
        else {
            throw RepositoryError(.invalidArgument, "the file is not a Zentoria key envelope")
        }
        guard envelope.version == 1 else {
            throw RepositoryError(
                .unsupportedVersion, "key envelope version \(envelope.version) is not supported")
        }
        self = envelope
    }

    init(repository: String, config: [UInt8], slot: ObjectName, slotBytes: [UInt8]) {
        (format, version, self.repository, created) = (Self.formatName, 1, repository, Date())
        self.config = Data(config).base64EncodedString()
        (keySlotName, keySlot) = (slot.name, Data(slotBytes).base64EncodedString())
    }
}

extension Repository {
    /// The envelope for the key slot `password` opens.
    /// - Throws: `.wrongPassword` when no slot opens with it.
    package func exportKey(password: [UInt8]) async throws -> KeyEnvelope {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        for info in try await store.list(.keys).sorted(by: { $0.name.name < $1.name.name }) {
            let bytes = try await store.get(info.name)
            guard let slot = try? decoder.decode(KeySlot.self, from: Data(bytes)),
                (try? slot.open(password: password)) != nil
            else { continue }
            return KeyEnvelope(
                repository: config.id, config: try await store.get(.config), slot: info.name,
                slotBytes: bytes)
        }
        throw RepositoryError(.wrongPassword, "the password opens no key slot of this repository")
    }

    /// Puts an envelope's config and key slot into `store` where they are missing, so the
    /// repository opens there with the password.
    /// - Throws: `.invalidArgument` when the store holds another repository.
    package static func install(_ envelope: KeyEnvelope, into store: any BlobStore) async throws {
        guard let config = Data(base64Encoded: envelope.config),
            let slot = Data(base64Encoded: envelope.keySlot),
            let digest = Digest256(hex: envelope.keySlotName),
            SHA256Hasher.digest(Array(slot)) == digest
        else {
            throw RepositoryError(.invalidArgument, "the key envelope is damaged")
        }
        if try await store.exists(.config) {
            let object = try await readConfigObject(store: store)
            guard object.id == envelope.repository else {
                throw RepositoryError(
                    .invalidArgument,
                    "store \(store.name) holds repository \(object.id), the envelope is for \(envelope.repository)"
                )
            }
        }
        let name = ObjectName(.keys, envelope.keySlotName)
        if try await !store.exists(name) { try await store.put(name, Array(slot)) }
        if try await !store.exists(.config) { try await store.put(.config, Array(config)) }
    }
}
