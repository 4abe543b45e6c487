import Foundation
import Yams

/// Reads a YAML configuration file strictly: unknown keys, type errors and syntax errors are
/// reported with the file and line, all at once where possible, before anything starts.
package enum YAMLConfigFile {
    /// Decodes `T` from the file at `path`; `allowedKeys` lists the top-level keys `T` knows.
    package static func load<T: Decodable>(
        _ type: T.Type, path: String, allowedKeys: Set<String>
    ) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TransportError(.configuration, "\(path): cannot read the file")
        }
        let text = String(decoding: data, as: UTF8.self)
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw TransportError(.configuration, "\(path): the file is empty")
            }
            node = composed
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError(.configuration, "\(path): not valid YAML: \(error)")
        }
        guard let mapping = node.mapping else {
            throw TransportError(
                .configuration, "\(path): the top level must be a mapping of settings")
        }
        var problems: [String] = []
        for (key, _) in mapping {
            let name = key.string ?? "?"
            if !allowedKeys.contains(name) {
                problems.append("\(path):\(key.mark?.line ?? 0): unknown setting '\(name)'")
            }
        }
        guard problems.isEmpty else {
            throw TransportError(.configuration, problems.joined(separator: "\n"))
        }
        do {
            return try YAMLDecoder().decode(T.self, from: node)
        } catch let error as DecodingError {
            throw TransportError(.configuration, describe(error, in: node, path: path))
        } catch {
            throw TransportError(.configuration, "\(path): \(error)")
        }
    }

    /// The line of the setting at `keys` (mapping keys from the top), if the file has it.
    package static func line(of keys: [String], in path: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? Yams.compose(yaml: String(decoding: data, as: UTF8.self))
        else { return nil }
        var node: Node? = root
        var line: Int?
        for key in keys {
            guard let entry = node?.mapping?.first(where: { $0.key.string == key }) else {
                return line
            }
            line = entry.key.mark?.line
            node = entry.value
        }
        return line
    }

    /// A decoding error as a sentence naming the setting and, when it can be found, its line.
    private static func describe(_ error: DecodingError, in root: Node, path file: String) -> String
    {
        /// `file:line: 'setting'`, with the line of the deepest node the path reaches.
        func location(_ path: [any CodingKey]) -> String {
            var node: Node? = root
            var line: Int?
            for key in path {
                if let index = key.intValue {
                    node = node?.sequence?[index]
                } else if let mapping = node?.mapping,
                    let entry = mapping.first(where: { $0.key.string == key.stringValue })
                {
                    // The key's own line: a value may start on a later one.
                    line = entry.key.mark?.line ?? line
                    node = entry.value
                    continue
                } else {
                    node = nil
                }
                line = node?.mark?.line ?? line
            }
            let name = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(
                separator: ".")
            return "\(file):\(line.map(String.init) ?? "?"): '\(name)'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(location(context.codingPath)): missing required setting '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
            .dataCorrupted(let context):
            return "\(location(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
