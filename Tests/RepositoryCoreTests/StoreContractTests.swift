import Foundation
import RepositoryCore
import TestSupport
import Testing

@Suite("Store contract")
struct StoreContractTests {
    @Test("in-memory store honours the contract", arguments: BlobStoreContract.checks)
    func inMemory(_ check: BlobStoreContract.Check) async throws {
        try await check.run(InMemoryBlobStore())
    }

    @Test("filesystem store honours the contract", arguments: BlobStoreContract.checks)
    func fileSystem(_ check: BlobStoreContract.Check) async throws {
        try await withTemporaryDirectory { try await check.run(FileSystemBlobStore(root: $0)) }
    }

    @Test("filesystem store discards only old temporaries")
    func temporaries() async throws {
        try await withTemporaryDirectory { root in
            let store = FileSystemBlobStore(root: root)
            try await store.put(ObjectName(.data, "aa"), [1])
            FileManagerHelpers.write("\(root)/tmp/left.tmp", [1, 2])
            #expect(try await store.discardIncompleteWrites(olderThan: 3600) == 0)
            #expect(try await store.discardIncompleteWrites(olderThan: 0) == 1)
            #expect(try await store.get(ObjectName(.data, "aa")) == [1])
        }
    }
}

enum FileManagerHelpers {
    static func write(_ path: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}
