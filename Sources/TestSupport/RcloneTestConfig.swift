import Foundation

/// rclone tiers for tests.
package enum RcloneTestConfig {
    /// Writes an rclone config with one local remote, `scratch`, and returns its path.
    package static func writeScratch(in directory: String) throws -> String {
        try write("[scratch]\ntype = local\n", in: directory)
    }

    /// Writes `text` as `rclone.conf` in `directory` and returns its path.
    package static func write(_ text: String, in directory: String) throws -> String {
        let path = "\(directory)/rclone.conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `remote` as an entry of a coordinator config's `tiers:` map, indented for it.
    package static func tierYAML(name: String, remote: String, config: String) -> String {
        """
          \(name):
            rclone:
              remote: "\(remote)"
              config: \(config)
        """
    }
}
