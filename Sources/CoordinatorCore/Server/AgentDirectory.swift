package import Foundation
import Synchronization
import Transport
package import X509

/// Enrolled agents, persisted in `<state_dir>/agents.json`. Read synchronously inside TLS
/// handshakes (revocation), so it is a Mutex, not an actor.
package final class AgentDirectory: Sendable {
    package struct Record: Codable, Sendable, Hashable {
        package var name: String
        package var enrolled: Date
        package var revoked: Bool
        /// Serial numbers (hex) of the certificates issued to this agent; only these are accepted.
        package var certificateSerials: [String]
        package var certificateExpires: Date?
        package var lastSeen: Date?
        package var version: String?
        package var components: [ComponentRecord]
    }

    package struct ComponentRecord: Codable, Sendable, Hashable {
        package var name: String
        package var kind: String
    }

    private let path: String
    private let records: Mutex<[String: Record]>

    /// Loads the directory (empty when the file does not exist yet).
    package init(path: String) throws {
        self.path = path
        if let data = FileManager.default.contents(atPath: path) {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let list = try decoder.decode([Record].self, from: data)
            records = Mutex(Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) }))
        } else {
            records = Mutex([:])
        }
    }

    /// Whether a verified certificate may act for `agent`: enrolled, not revoked, and one of
    /// the certificates issued to it.
    package func isAllowed(agent: String, certificate: Certificate) -> Bool {
        let serial = Self.serial(certificate)
        return records.withLock { records in
            guard let record = records[agent] else { return false }
            return !record.revoked && record.certificateSerials.contains(serial)
        }
    }

    /// Records a new certificate for `agent` (enrolling it, or re-enrolling a revoked one).
    package func enroll(agent: String, certificate: Certificate) throws {
        try update { records in
            var record =
                records[agent]
                ?? Record(
                    name: agent, enrolled: Date(), revoked: false, certificateSerials: [],
                    components: [])
            if record.revoked {
                record.revoked = false
                record.certificateSerials = []
            }
            record.certificateSerials.append(Self.serial(certificate))
            record.certificateExpires = certificate.notValidAfter
            records[agent] = record
        }
    }

    /// Revokes an agent: its certificates stop working at once.
    /// - Returns: false when no such agent is enrolled.
    package func revoke(agent: String) throws -> Bool {
        var found = false
        try update { records in
            guard records[agent] != nil else { return }
            found = true
            records[agent]?.revoked = true
        }
        return found
    }

    /// Stores what an agent announced in its hello.
    package func announce(agent: String, version: String, components: [ComponentRecord]) throws {
        try update { records in
            records[agent]?.version = version
            records[agent]?.components = components
            records[agent]?.lastSeen = Date()
        }
    }

    /// Notes that an agent was heard from (kept in memory; written with the next change).
    package func touch(agent: String) {
        records.withLock { $0[agent]?.lastSeen = Date() }
    }

    /// One agent's record.
    package func record(_ agent: String) -> Record? { records.withLock { $0[agent] } }

    /// All agents, by name.
    package var all: [Record] { records.withLock { $0.values.sorted { $0.name < $1.name } } }

    private func update(_ change: (inout [String: Record]) -> Void) throws {
        let snapshot = records.withLock { records in
            change(&records)
            return records.values.sorted { $0.name < $1.name }
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try PrivateFile.write(try encoder.encode(snapshot), to: path)
    }

    static func serial(_ certificate: Certificate) -> String {
        certificate.serialNumber.description
    }
}

/// One-time enrollment tokens, stored only as SHA-256 hashes in `<state_dir>/tokens.json`.
package final class TokenStore: Sendable {
    private struct Entry: Codable {
        var agent: String
        var expires: Date
    }

    private let path: String
    private let entries: Mutex<[String: Entry]>

    package init(path: String) throws {
        self.path = path
        if let data = FileManager.default.contents(atPath: path) {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            entries = Mutex(try decoder.decode([String: Entry].self, from: data))
        } else {
            entries = Mutex([:])
        }
    }

    /// A new token for `agent`, valid for `ttl` seconds.
    package func create(agent: String, ttl: TimeInterval) throws -> (token: String, expires: Date) {
        var random = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in
            String(format: "%02x", UInt8.random(in: 0...255, using: &random))
        }.joined()
        let expires = Date().addingTimeInterval(ttl)
        try update { $0[Self.hash(token)] = Entry(agent: agent, expires: expires) }
        return (token, expires)
    }

    /// Uses up a token: it works once, before it expires, and (when `agent` is given) only
    /// for the agent it was made for. Returns that agent's name.
    package func consume(token: String, agent: String?) throws -> String? {
        var name: String?
        try update { entries in
            let now = Date()
            entries = entries.filter { $0.value.expires > now }
            let key = Self.hash(token)
            if let entry = entries[key], agent == nil || entry.agent == agent {
                name = entry.agent
                entries.removeValue(forKey: key)
            }
        }
        return name
    }

    private func update(_ change: (inout [String: Entry]) -> Void) throws {
        let snapshot = entries.withLock { entries in
            change(&entries)
            return entries
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try PrivateFile.write(try encoder.encode(snapshot), to: path)
    }

    private static func hash(_ token: String) -> String {
        Fingerprint.sha256(der: Array(token.utf8))
    }
}

/// Files only the owner may read, replaced atomically.
package enum PrivateFile {
    package static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        else {
            throw CoordinatorError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else { throw CoordinatorError("cannot replace \(path)") }
    }
}
