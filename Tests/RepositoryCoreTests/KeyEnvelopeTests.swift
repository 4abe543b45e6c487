import Foundation
import RepositoryCore
import TestSupport
import Testing

@Suite("Key envelope")
struct KeyEnvelopeTests {
    @Test("an exported envelope and the password open a store whose key objects are gone")
    func roundTrip() async throws {
        let store = InMemoryBlobStore()
        let repository = try await TestRepository.make(store: store)
        var random = SeededRandom(seed: 4)
        let dump = random.bytes(400_000)
        let snapshot = try await TestRepository.backup(repository, dump).snapshot
        let bytes = try await repository.exportKey(password: TestRepository.password).encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"format\" : \"zentoria-key-envelope\""))
        #expect(!text.contains(String(decoding: TestRepository.password, as: UTF8.self)))

        for info in try await store.list(.keys) { try await store.delete(info.name) }
        try await store.delete(.config)
        await #expect(throws: RepositoryError.self) {
            _ = try await Repository.open(
                store: store, password: TestRepository.password, logger: TestRepository.logger)
        }
        try await Repository.install(try KeyEnvelope(decoding: bytes), into: store)
        let reopened = try await Repository.open(
            store: store, password: TestRepository.password, logger: TestRepository.logger)
        #expect(try await TestRepository.restore(reopened, snapshot) == dump)
        let wrong = await #expect(throws: RepositoryError.self) {
            _ = try await Repository.open(
                store: store, password: Array("not it".utf8), logger: TestRepository.logger)
        }
        #expect(wrong?.code == .wrongPassword)
    }

    @Test("bad envelopes and foreign stores are refused, and nothing is written")
    func refusals() async throws {
        let repository = try await TestRepository.make()
        let envelope = try await repository.exportKey(password: TestRepository.password)
        let garbage = #expect(throws: RepositoryError.self) {
            _ = try KeyEnvelope(decoding: Array("{\"format\": \"other\"}".utf8))
        }
        #expect(garbage?.code == .invalidArgument)
        var damaged = envelope
        damaged.keySlot = Data("tampered".utf8).base64EncodedString()
        let store = InMemoryBlobStore()
        await #expect(throws: RepositoryError.self) {
            try await Repository.install(damaged, into: store)
        }
        #expect(try await store.list(.keys).isEmpty)
        #expect(try await !store.exists(.config))

        let other = InMemoryBlobStore()
        _ = try await Repository.initialize(
            store: other, password: TestRepository.password, keyDerivation: .insecureForTestsOnly,
            logger: TestRepository.logger)
        let before = try await other.list(.keys).count
        let foreign = await #expect(throws: RepositoryError.self) {
            try await Repository.install(envelope, into: other)
        }
        #expect(foreign?.code == .invalidArgument)
        #expect(try await other.list(.keys).count == before)
        let wrong = await #expect(throws: RepositoryError.self) {
            _ = try await repository.exportKey(password: Array("nope".utf8))
        }
        #expect(wrong?.code == .wrongPassword)
    }
}
