import Foundation
package import RepositoryCore

/// The one test suite every ``BlobStore`` must pass (STYLE §8): the contract stated on the
/// protocol, check by check, so a parameterized test names the one that failed.
package enum BlobStoreContract {
    package struct Check: Sendable, CustomStringConvertible {
        package let description: String
        private let body: @Sendable (any BlobStore) async throws -> Void

        init(
            _ description: String, _ body: @escaping @Sendable (any BlobStore) async throws -> Void
        ) {
            (self.description, self.body) = (description, body)
        }

        /// Runs the check against an empty store.
        package func run(_ store: any BlobStore) async throws { try await body(store) }
    }

    package static let checks: [Check] = [
        Check("put then get returns the bytes") { store in
            var random = SeededRandom(seed: 1)
            let bytes = random.bytes(100_000)
            try await store.put(ObjectName(.data, "aa01"), bytes)
            try expect(
                try await store.get(ObjectName(.data, "aa01")) == bytes, "get returned other bytes")
            try expect(
                try await store.size(of: ObjectName(.data, "aa01")) == bytes.count, "size differs")
        },
        Check("empty objects are stored") { store in
            try await store.put(ObjectName(.locks, "empty"), [])
            try expect(
                try await store.get(ObjectName(.locks, "empty")) == [], "empty object not empty")
        },
        Check("ranged get returns the slice") { store in
            let bytes = (0..<1000).map { UInt8($0 % 251) }
            try await store.put(ObjectName(.data, "ab02"), bytes)
            try expect(
                try await store.get(ObjectName(.data, "ab02"), range: 10..<20)
                    == Array(bytes[10..<20]), "range 10..<20")
            try expect(
                try await store.get(ObjectName(.data, "ab02"), range: 990..<1000)
                    == Array(bytes[990...]), "range at end")
            try expect(
                try await store.get(ObjectName(.data, "ab02"), range: 5..<5) == [], "empty range")
        },
        Check("ranged get past the end fails") { store in
            try await store.put(ObjectName(.data, "ac03"), [1, 2, 3])
            try await expectStorageError(.permanent) {
                _ = try await store.get(ObjectName(.data, "ac03"), range: 2..<4)
            }
        },
        Check("missing objects are notFound") { store in
            try await expectStorageError(.notFound) {
                _ = try await store.get(ObjectName(.snapshots, "missing"))
            }
            try await expectStorageError(.notFound) {
                _ = try await store.size(of: ObjectName(.snapshots, "missing"))
            }
            try await expectStorageError(.notFound) {
                try await store.delete(ObjectName(.snapshots, "missing"))
            }
            try expect(
                try await !store.exists(ObjectName(.snapshots, "missing")), "exists says yes")
        },
        Check("put never overwrites") { store in
            try await store.put(ObjectName(.index, "same"), [1, 2, 3])
            try await expectStorageError(.alreadyExists) {
                try await store.put(ObjectName(.index, "same"), [9, 9])
            }
            try expect(
                try await store.get(ObjectName(.index, "same")) == [1, 2, 3], "object was changed")
        },
        Check("list returns each object of a kind with its size") { store in
            try await store.put(ObjectName(.data, "0011aa"), [1])
            try await store.put(ObjectName(.data, "ff22bb"), [1, 2])
            try await store.put(ObjectName(.index, "0011aa"), [1, 2, 3])
            try await store.put(.config, [7])
            let data = try await store.list(.data).sorted { $0.name.name < $1.name.name }
            try expect(
                data == [
                    ObjectInfo(name: ObjectName(.data, "0011aa"), size: 1),
                    ObjectInfo(name: ObjectName(.data, "ff22bb"), size: 2),
                ], "data listing \(data)")
            try expect(
                try await store.list(.index) == [
                    ObjectInfo(name: ObjectName(.index, "0011aa"), size: 3)
                ], "index listing")
            try expect(
                try await store.list(.config) == [ObjectInfo(name: .config, size: 1)],
                "config listing")
            try expect(try await store.list(.snapshots).isEmpty, "empty kind lists nothing")
        },
        Check("delete removes the object") { store in
            try await store.put(ObjectName(.snapshots, "gone"), [1])
            try await store.delete(ObjectName(.snapshots, "gone"))
            try expect(try await store.list(.snapshots).isEmpty, "still listed")
            try await expectStorageError(.notFound) {
                _ = try await store.get(ObjectName(.snapshots, "gone"))
            }
            try await store.put(ObjectName(.snapshots, "gone"), [2])
            try expect(
                try await store.get(ObjectName(.snapshots, "gone")) == [2],
                "name reusable after delete")
        },
        Check("concurrent puts of distinct names all land") { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<32 {
                    group.addTask {
                        try await store.put(
                            ObjectName(.data, String(format: "%02x%04d", i, i)),
                            [UInt8](repeating: UInt8(i), count: 5000 + i))
                    }
                }
                try await group.waitForAll()
            }
            let listed = try await store.list(.data)
            try expect(listed.count == 32, "listed \(listed.count) of 32")
            for info in listed { try expect(info.size >= 5000, "short object \(info.name)") }
        },
        Check("concurrent puts of one name: exactly one wins") { store in
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        do {
                            try await store.put(
                                ObjectName(.keys, "race"), [UInt8](repeating: UInt8(i), count: 1000)
                            )
                            return true
                        } catch let error as StorageError where error.code == .alreadyExists {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            try expect(
                results.filter { $0 }.count == 1, "\(results.filter { $0 }.count) puts succeeded")
            let bytes = try await store.get(ObjectName(.keys, "race"))
            try expect(bytes.count == 1000 && Set(bytes).count == 1, "object mixes writers")
        },
    ]

    private static func expect(_ condition: Bool, _ message: String) throws {
        guard condition else { throw ContractViolation(message: message) }
    }

    private static func expectStorageError(
        _ code: StorageError.Code, _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch let error as StorageError {
            try expect(error.code == code, "expected \(code), got \(error.code)")
            return
        }
        throw ContractViolation(message: "expected \(code), nothing was thrown")
    }
}

/// A store broke its contract.
package struct ContractViolation: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
