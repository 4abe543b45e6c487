import Logging

/// What a repair from other tiers did.
package struct RepairReport: Sendable {
    /// Objects replaced by an intact copy from another tier, with the tier's store name.
    package var replaced: [(object: ObjectName, from: String)] = []
    /// Objects no tier holds intact.
    package var unrepairable: [ObjectName] = []
}

extension Repository {
    /// The objects a check's problems name that a copy from another tier can replace: the
    /// packs of damaged or missing data and the unreadable index and snapshot objects.
    package static func repairableObjects(in report: CheckReport) -> [ObjectName] {
        var names = Set<ObjectName>()
        for problem in report.problems {
            if let pack = problem.pack {
                names.insert(ObjectName(.data, pack.digest.hex))
            } else if let object = problem.object, let name = ObjectName(path: object),
                name.kind == .index || name.kind == .snapshots
            {
                names.insert(name)
            }
        }
        return names.sorted { $0.path < $1.path }
    }

    /// Replaces damaged or missing content-named objects with intact copies from other tiers
    /// of this repository. A copy is used only when its SHA-256 matches its name, so a
    /// damaged copy never replaces a damaged original.
    package func repair(
        _ objects: [ObjectName], from sources: [Repository]
    ) async throws
        -> RepairReport
    {
        try await withLock(.shared, operation: "repair") { lease in
            var report = RepairReport()
            for name in objects {
                guard let digest = Digest256(hex: name.name) else {
                    report.unrepairable.append(name)
                    continue
                }
                var source: (bytes: [UInt8], store: String)?
                for tier in sources {
                    if let bytes = try? await tier.store.get(name),
                        SHA256Hasher.digest(bytes) == digest
                    {
                        source = (bytes, tier.store.name)
                        break
                    }
                }
                guard let source else {
                    report.unrepairable.append(name)
                    continue
                }
                try lease.ensureValid()
                do {
                    try await store.delete(name)
                } catch let error as StorageError where error.code == .notFound {}
                try await store.put(name, source.bytes)
                report.replaced.append((name, source.store))
                logger.warning(
                    "object replaced from another tier",
                    metadata: ["object": "\(name)", "tier": "\(source.store)"])
            }
            return report
        }
    }
}
