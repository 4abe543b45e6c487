import Synchronization

/// A ``BlobStore`` in memory, for tests and dry runs. Honours the whole store contract.
package final class InMemoryBlobStore: BlobStore {
    package let name: String
    package var maxConcurrentRequests: Int { 8 }
    private let objects = Mutex<[ObjectName: [UInt8]]>([:])

    package init(name: String = "memory") { self.name = name }

    package func put(_ name: ObjectName, _ bytes: [UInt8]) async throws {
        try objects.withLock { objects in
            guard objects[name] == nil else {
                throw StorageError(.alreadyExists, "\(name) already exists")
            }
            objects[name] = bytes
        }
    }

    package func get(_ name: ObjectName, range: Range<Int>?) async throws -> [UInt8] {
        let bytes = try objects.withLock { objects in
            guard let bytes = objects[name] else {
                throw StorageError(.notFound, "\(name) not found")
            }
            return bytes
        }
        guard let range else { return bytes }
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw StorageError(
                .permanent, "range \(range) outside \(name) of \(bytes.count) bytes")
        }
        return Array(bytes[range])
    }

    package func size(of name: ObjectName) async throws -> Int {
        try objects.withLock { objects in
            guard let bytes = objects[name] else {
                throw StorageError(.notFound, "\(name) not found")
            }
            return bytes.count
        }
    }

    package func list(_ kind: ObjectKind) async throws -> [ObjectInfo] {
        objects.withLock { objects in
            objects.filter { $0.key.kind == kind }.map {
                ObjectInfo(name: $0.key, size: $0.value.count)
            }
        }
    }

    package func delete(_ name: ObjectName) async throws {
        try objects.withLock { objects in
            guard objects.removeValue(forKey: name) != nil else {
                throw StorageError(.notFound, "\(name) not found")
            }
        }
    }

    package func discardIncompleteWrites(olderThan age: Double) async throws -> Int { 0 }

    /// Replaces an object's bytes in place, bypassing the contract: for damage tests only.
    package func tamper(_ name: ObjectName, _ change: (inout [UInt8]) -> Void) {
        objects.withLock { objects in
            if var bytes = objects[name] {
                change(&bytes)
                objects[name] = bytes
            }
        }
    }
}
