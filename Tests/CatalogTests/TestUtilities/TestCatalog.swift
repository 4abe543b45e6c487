import Catalog
import TestSupport

/// Runs `body` with a catalog in a fresh file, and that file's path.
func withCatalog<T>(_ body: (Catalog, String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let path = "\(directory)/catalog.db"
        return try await body(try Catalog(path: path), path)
    }
}
