extension Repository {
    /// This repository on another store: a tier, with the same key and chunking parameters,
    /// so chunks deduplicate across tiers and packs copy verbatim (DESIGN, "Tiers").
    ///
    /// An empty store becomes a tier when `creating` (key slots first, the config last, so a
    /// half-made tier has no config); key slots added here since are copied over. A store
    /// holding another repository is refused.
    /// - Throws: `.notARepository` for an empty store when not `creating`; `.invalidArgument`
    ///   when the store holds another repository.
    package func tier(on target: any BlobStore, creating: Bool) async throws -> Repository {
        if try await target.exists(.config) {
            let object = try await Self.readConfigObject(store: target)
            guard object.id == config.id else {
                throw RepositoryError(
                    .invalidArgument,
                    "store \(target.name) holds repository \(object.id), not \(config.id)")
            }
            do {
                _ = try Self.unsealConfig(object, keys: keys)
            } catch {
                throw RepositoryError(
                    .invalidArgument,
                    "store \(target.name) holds a repository this key does not open", cause: error)
            }
        } else if !creating {
            throw RepositoryError(
                .notARepository, "store \(target.name) holds no copy of this repository yet")
        }
        let theirs = Set(try await target.list(.keys).map(\.name))
        for slot in try await store.list(.keys).map(\.name) where !theirs.contains(slot) {
            do {
                try await target.put(slot, try await store.get(slot))
            } catch let error as StorageError where error.code == .alreadyExists {}
        }
        if try await !target.exists(.config) {
            do {
                try await target.put(.config, try await store.get(.config))
            } catch let error as StorageError where error.code == .alreadyExists {}
        }
        return Repository(store: target, keys: keys, config: config, logger: logger)
    }
}

extension Repository {
    /// Reads a chunk by ID through `index`, checked against its ID; nil when it is not
    /// there or does not authenticate. Used to serve another tier's restore.
    package func readChunkIfIntact(_ id: ChunkID, index: RepositoryIndex) async -> [UInt8]? {
        guard let location = index.location(of: id) else { return nil }
        return try? await readBlob(location)
    }
}
