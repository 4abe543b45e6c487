package import RepositoryCore

/// Searches every object of a store for a byte string: proof that only ciphertext left.
package enum ObjectScan {
    /// The objects whose bytes contain `needle` (every object when it is empty).
    package static func objects(
        in store: any BlobStore, containing needle: [UInt8]
    ) async throws -> [ObjectName] {
        var found: [ObjectName] = []
        for kind in ObjectKind.allCases {
            for info in try await store.list(kind) {
                let bytes = try await store.get(info.name)
                if needle.isEmpty || contains(bytes, needle) { found.append(info.name) }
            }
        }
        return found
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let first = needle.first else { return false }
        var start = 0
        while let index = haystack[start...].firstIndex(of: first) {
            if index + needle.count > haystack.count { return false }
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            start = index + 1
        }
        return false
    }
}
