import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    /// The offline CLI as a user runs it: real processes on a real filesystem.
    @Suite("Offline CLI")
    struct OfflineCLITests {
        static let binary = CommandRunner.product("zentoria-coordinator")

        /// A scratch directory with a password file and helpers to run `repo` commands in it.
        struct Workspace {
            let root: String
            var repo: String { "\(root)/repo" }
            var passwordFile: String { "\(root)/password" }

            init(root: String, password: String = "s3cret-pass") {
                self.root = root
                _ = FileManager.default.createFile(
                    atPath: "\(root)/password", contents: Data("\(password)\n".utf8))
            }

            func repo(
                _ command: String, _ arguments: [String] = [], input: String? = nil,
                repository: String? = nil
            ) throws -> CommandResult {
                try CommandRunner.run(
                    OfflineCLITests.binary,
                    ["repo", command, "--repo", repository ?? repo] + arguments, input: input,
                    environment: ["ZENTORIA_PASSWORD_FILE": passwordFile])
            }

            func initialize(_ extra: [String] = [], repository: String? = nil) throws {
                let result = try repo(
                    "init", ["--insecure-kdf-for-tests"] + extra, repository: repository)
                #expect(result.status == 0, "init failed: \(result.stderr)")
            }

            func write(_ name: String, _ bytes: [UInt8]) -> String {
                let path = "\(root)/\(name)"
                _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
                return path
            }

            func files(under directory: String) -> [String: Int] {
                var result: [String: Int] = [:]
                let enumerator = FileManager.default.enumerator(atPath: directory)
                while let path = enumerator?.nextObject() as? String {
                    let attributes = try? FileManager.default.attributesOfItem(
                        atPath: "\(directory)/\(path)")
                    if attributes?[.type] as? FileAttributeType == .typeRegular {
                        result[path] = (attributes?[.size] as? Int) ?? -1
                    }
                }
                return result
            }

            func packs(repository: String? = nil) -> [String] {
                files(under: "\(repository ?? repo)/data").keys.sorted()
            }

            /// Feeds a backup random bytes until it has written `count` packs, then kills it
            /// with SIGKILL while it waits for more.
            func killBackup(
                afterPacks count: Int, random: inout SeededRandom, repository: String? = nil
            ) throws {
                let process = try CommandRunner.start(
                    OfflineCLITests.binary,
                    [
                        "repo", "backup", "--repo", repository ?? repo, "--agent", "a",
                        "--component", "c",
                    ],
                    environment: ["ZENTORIA_PASSWORD_FILE": passwordFile])
                let input = Pipe()
                process.standardInput = input
                // Should the backup end early, a write must fail, not kill the test runner.
                signal(SIGPIPE, SIG_IGN)
                try process.run()
                let before = packs(repository: repository).count
                var written = 0
                while packs(repository: repository).count < before + count {
                    try #require(
                        process.isRunning, "the backup ended before writing \(count) packs")
                    try input.fileHandleForWriting.write(contentsOf: Data(random.bytes(1 << 20)))
                    written += 1 << 20
                    #expect(written < 200 << 20, "no pack appeared")
                    if written >= 200 << 20 { break }
                }
                kill(process.processIdentifier, SIGKILL)
                _ = try CommandRunner.wait(process, launching: false)
                #expect(process.terminationReason == .uncaughtSignal)
            }

            /// Mounts a tmpfs of `megabytes` under the root (needs root), runs
            /// `body` with its path and unmounts it.
            func withSmallDisk(
                megabytes: Int, _ body: (String) async throws -> Void
            ) async throws {
                let mountPoint = "\(root)/small-disk"
                try FileManager.default.createDirectory(
                    atPath: mountPoint, withIntermediateDirectories: true)
                let mount = try CommandRunner.run(
                    "/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", mountPoint])
                try #require(
                    mount.status == 0, "mounting a small tmpfs needs root: \(mount.stderr)")
                defer { _ = try? CommandRunner.run("/bin/umount", [mountPoint]) }
                try await body(mountPoint)
            }
        }

        /// Bytes free for an unprivileged writer on the filesystem holding `path`.
        static func freeBytes(_ path: String) -> Int {
            var info = statvfs()
            guard statvfs(path, &info) == 0 else { return -1 }
            return Int(info.f_bavail) * Int(info.f_frsize)
        }

        /// Writes zeros to `path` until the filesystem refuses more.
        static func fillDisk(with path: String) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let block = [UInt8](repeating: 0, count: 4096)
            while block.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) > 0 {}
        }

        static func json(_ result: CommandResult) throws -> [String: Any] {
            try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any],
                "not a JSON object: \(result.stdoutText)")
        }

        @Test("init, backup, snapshots, restore, stats and check work together")
        func roundTrip() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try workspace.initialize()
                var random = SeededRandom(seed: 1)
                let data = random.dumpLikeText(5_000_000)
                let dump = workspace.write("dump", data)
                let backup = try workspace.repo(
                    "backup",
                    [
                        "--agent", "host1", "--component", "pg", "--kind", "postgresql", "--tag",
                        "t1",
                        "--json",
                    ], input: dump)
                #expect(backup.status == 0, "\(backup.stderr)")
                let object = try Self.json(backup)
                let id = try #require(object["id"] as? String)
                #expect(object["bytes"] as? Int == data.count)
                #expect((object["bytes_added"] as? Int ?? 0) > 0)
                #expect(backup.stderr.isEmpty, "no progress noise when stderr is not a terminal")

                let again = try workspace.repo(
                    "backup", ["--agent", "host1", "--component", "pg"], input: dump)
                #expect(again.status == 0)
                #expect(
                    again.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).count == 64,
                    "plain output is the ID")

                let list = try workspace.repo("snapshots", ["--json"])
                let snapshots = try #require(
                    try JSONSerialization.jsonObject(with: Data(list.stdout)) as? [[String: Any]])
                #expect(snapshots.count == 2)
                #expect(snapshots.first?["id"] as? String == id)
                #expect(snapshots.first?["tags"] as? [String] == ["t1"])
                #expect(try workspace.repo("snapshots").stdoutText.contains(String(id.prefix(8))))

                let restoredPath = "\(root)/restored"
                let restore = try workspace.repo(
                    "restore", [String(id.prefix(10)), "--output", restoredPath])
                #expect(restore.status == 0, "\(restore.stderr)")
                #expect(FileManager.default.contents(atPath: restoredPath) == Data(data))
                let toStdout = try workspace.repo(
                    "restore", ["latest", "--agent", "host1", "--component", "pg"])
                #expect(toStdout.stdout == data)

                let stats = try Self.json(try workspace.repo("stats", ["--json"]))
                #expect(stats["snapshots"] as? Int == 2)
                #expect(stats["logical_bytes"] as? Int == 2 * data.count)
                let check = try workspace.repo("check", ["--read-data"])
                #expect(check.status == 0, "\(check.stdoutText)")
                #expect(try workspace.repo("check", ["--read-data-subset", "50"]).status == 0)
            }
        }

        @Test("a wrong password fails clearly and writes nothing")
        func wrongPassword() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try workspace.initialize()
                let before = workspace.files(under: workspace.repo)
                _ = FileManager.default.createFile(
                    atPath: "\(root)/wrong", contents: Data("nope\n".utf8))
                let dump = workspace.write("dump", [1, 2, 3])
                for command in ["backup", "snapshots", "check", "prune", "stats"] {
                    let arguments =
                        command == "backup"
                        ? ["--agent", "a", "--component", "c", "--password-file", "\(root)/wrong"]
                        : ["--password-file", "\(root)/wrong"]
                    let result = try workspace.repo(command, arguments, input: dump)
                    #expect(result.status == 1, "\(command) exit \(result.status)")
                    #expect(
                        result.stderr.contains("wrong password"), "\(command): \(result.stderr)")
                }
                #expect(workspace.files(under: workspace.repo) == before)
                let missing = try workspace.repo("snapshots", [], repository: "\(root)/nowhere")
                #expect(missing.status == 1 && missing.stderr.contains("no repository"))
                let noPassword = try CommandRunner.run(
                    Self.binary, ["repo", "snapshots", "--repo", workspace.repo])
                #expect(noPassword.status == 64 && noPassword.stderr.contains("password"))
            }
        }

        @Test(
            "damage makes check exit 3 naming pack, chunk and snapshot; restore fails without output"
        )
        func damage() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try workspace.initialize(["--pack-size", "1"])
                var random = SeededRandom(seed: 2)
                let dump = workspace.write("dump", random.bytes(3_000_000))
                let id = try workspace.repo(
                    "backup", ["--agent", "a", "--component", "c"], input: dump
                ).stdoutText
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                let pack = try #require(workspace.packs().first)
                let handle = try #require(
                    FileHandle(forUpdatingAtPath: "\(workspace.repo)/data/\(pack)"))
                try handle.seek(toOffset: 1000)
                let byte = try #require(try handle.read(upToCount: 1))
                try handle.seek(toOffset: 1000)
                try handle.write(contentsOf: Data([byte[0] ^ 0xFF]))
                try handle.close()

                let check = try workspace.repo("check", ["--read-data"])
                #expect(check.status == 3)
                let packID = String(pack.split(separator: "/").last!)
                #expect(
                    check.stdoutText.contains("damaged pack") && check.stdoutText.contains(packID))
                #expect(check.stdoutText.contains("damaged chunk"))
                #expect(check.stdoutText.contains("snapshots affected: \(id)"))
                let json = try Self.json(try workspace.repo("check", ["--read-data", "--json"]))
                #expect(json["healthy"] as? Bool == false)
                #expect(json["affected_snapshots"] as? [String] == [id])

                let output = "\(root)/out"
                let restore = try workspace.repo("restore", [id, "--output", output])
                #expect(restore.status == 1)
                #expect(restore.stderr.contains("integrity"))
                #expect(!FileManager.default.fileExists(atPath: output))
                #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
            }
        }

        @Test("an unknown format version is refused with a clear error")
        func unknownVersion() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try workspace.initialize()
                let path = "\(workspace.repo)/config"
                let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
                    of: "\"version\":1", with: "\"version\":2")
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                let result = try workspace.repo("snapshots")
                #expect(result.status == 1)
                #expect(result.stderr.contains("format version 2 is not supported"))
            }
        }

        @Test(
            "a backup killed with SIGKILL leaves no snapshot; check passes; prune reclaims; next backup works"
        )
        func killedBackup() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try workspace.initialize(["--pack-size", "1"])
                var random = SeededRandom(seed: 3)
                try workspace.killBackup(afterPacks: 3, random: &random)

                let list = try Self.json(try workspace.repo("stats", ["--json"]))
                #expect(list["snapshots"] as? Int == 0)
                let check = try workspace.repo("check", ["--read-data"])
                #expect(check.status == 0, "\(check.stdoutText)")
                #expect(check.stdoutText.contains("in no index"))

                let dump = workspace.write("dump", random.dumpLikeText(2_000_000))
                let next = try workspace.repo(
                    "backup", ["--agent", "a", "--component", "c"], input: dump)
                #expect(next.status == 0, "\(next.stderr)")
                let prune = try workspace.repo("prune")
                #expect(prune.status == 0, "\(prune.stderr)")
                let stats = try Self.json(try workspace.repo("stats", ["--json"]))
                #expect(stats["pack_bytes"] as? Int ?? 0 < 2_000_000, "leftover packs were removed")
                #expect(try workspace.repo("check", ["--read-data"]).status == 0)
                #expect(
                    try workspace.repo("restore", ["latest"]).stdout
                        == Array(try Data(contentsOf: URL(fileURLWithPath: dump))))
            }
        }

        @Test("prune killed with SIGKILL at any moment leaves a repository that checks clean")
        func killedPrune() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try workspace.initialize(["--pack-size", "1", "--chunk-sizes", "16,64,256"])
                var random = SeededRandom(seed: 41)
                let kept = random.dumpLikeText(4_000_000)
                let keptID = try workspace.repo(
                    "backup", ["--agent", "a", "--component", "kept"],
                    input: workspace.write("kept", kept)
                ).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
                for (round, delay) in [0.02, 0.08, 0.2, 0.5, 1.0].enumerated() {
                    // Garbage to prune: a forgotten snapshot sharing half its data with `kept`.
                    var dump = kept
                    dump.replaceSubrange(0..<2_000_000, with: random.bytes(2_000_000))
                    let id = try workspace.repo(
                        "backup", ["--agent", "a", "--component", "gone"],
                        input: workspace.write("gone-\(round)", dump)
                    ).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
                    #expect(try workspace.repo("forget", [id]).status == 0)
                    let process = try CommandRunner.start(
                        Self.binary,
                        ["repo", "prune", "--repo", workspace.repo, "--repack-threshold", "1"],
                        environment: ["ZENTORIA_PASSWORD_FILE": workspace.passwordFile])
                    try process.run()
                    try await Task.sleep(for: .seconds(delay))
                    kill(process.processIdentifier, SIGKILL)
                    _ = try CommandRunner.wait(process, launching: false)
                    let check = try workspace.repo("check", ["--read-data"])
                    #expect(check.status == 0, "killed after \(delay) s: \(check.stdoutText)")
                    #expect(
                        try workspace.repo("restore", [keptID]).stdout == kept,
                        "killed after \(delay) s")
                }
                let prune = try workspace.repo("prune", ["--repack-threshold", "1"])
                #expect(prune.status == 0, "\(prune.stderr)")
                #expect(try workspace.repo("check", ["--read-data"]).status == 0)
                let stats = try Self.json(try workspace.repo("stats", ["--json"]))
                #expect(stats["snapshots"] as? Int == 1)
                #expect(try workspace.repo("restore", [keptID]).stdout == kept)
            }
        }

        @Test("a backup that fills the disk fails cleanly and frees its packs; the next one works")
        func fullDisk() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try await workspace.withSmallDisk(megabytes: 6) { disk in
                    let repository = "\(disk)/repo"
                    try workspace.initialize(["--pack-size", "1"], repository: repository)
                    let freeAfterInit = Self.freeBytes(disk)
                    var random = SeededRandom(seed: 4)
                    let big = workspace.write("big", random.bytes(20_000_000))
                    let failed = try workspace.repo(
                        "backup", ["--agent", "a", "--component", "c"], input: big,
                        repository: repository)
                    #expect(failed.status == 1)
                    #expect(
                        failed.stderr.contains("noSpace")
                            || failed.stderr.contains("No space left"),
                        "\(failed.stderr)")
                    #expect(workspace.packs(repository: repository).isEmpty)
                    let reserve = workspace.files(under: "\(repository)/tmp")["reserve"] ?? 0
                    #expect(reserve == 1 << 20, "the first pack allocated the reserve")
                    #expect(Self.freeBytes(disk) >= freeAfterInit - reserve, "the space came back")
                    #expect(
                        try Self.json(
                            try workspace.repo("stats", ["--json"], repository: repository))[
                                "snapshots"] as? Int == 0)
                    #expect(
                        try workspace.repo("check", ["--read-data"], repository: repository).status
                            == 0)
                    let small = random.dumpLikeText(1_000_000)
                    let dump = workspace.write("small", small)
                    #expect(
                        try workspace.repo(
                            "backup", ["--agent", "a", "--component", "c"], input: dump,
                            repository: repository
                        ).status == 0)
                    #expect(
                        try workspace.repo("restore", ["latest"], repository: repository).stdout
                            == small)
                }
            }
        }

        @Test(
            "a backup killed on a full disk: prune runs in the reserve, reclaims its packs, then merges the index"
        )
        func killedOnFullDisk() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try await workspace.withSmallDisk(megabytes: 8) { disk in
                    let repository = "\(disk)/repo"
                    try workspace.initialize(
                        ["--pack-size", "1", "--chunk-sizes", "16,64,256"], repository: repository)
                    var random = SeededRandom(seed: 6)
                    // Three snapshots, so three index objects that prune will want to merge.
                    var kept: [(id: String, data: [UInt8])] = []
                    for round in 0..<3 {
                        let data = random.dumpLikeText(200_000)
                        let backup = try workspace.repo(
                            "backup", ["--agent", "a", "--component", "c"],
                            input: workspace.write("kept-\(round)", data), repository: repository)
                        #expect(backup.status == 0, "\(backup.stderr)")
                        kept.append(
                            (
                                backup.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines),
                                data
                            ))
                    }
                    let keptPacks = Set(workspace.packs(repository: repository))
                    try workspace.killBackup(afterPacks: 3, random: &random, repository: repository)
                    #expect(workspace.packs(repository: repository).count >= keptPacks.count + 3)
                    Self.fillDisk(with: "\(disk)/filler")
                    #expect(Self.freeBytes(disk) < 64 << 10, "the disk is full")

                    let prune = try workspace.repo("prune", [], repository: repository)
                    #expect(prune.status == 0, "\(prune.stderr)")
                    #expect(Set(workspace.packs(repository: repository)) == keptPacks)
                    #expect(Self.freeBytes(disk) > 2 << 20, "the packs' space came back")
                    #expect(
                        workspace.files(under: "\(repository)/index").count == 1,
                        "the index was merged once there was room")
                    #expect(
                        try workspace.repo("check", ["--read-data"], repository: repository).status
                            == 0)
                    for snapshot in kept {
                        #expect(
                            try workspace.repo("restore", [snapshot.id], repository: repository)
                                .stdout == snapshot.data)
                    }

                    unlink("\(disk)/filler")
                    let data = random.dumpLikeText(1_000_000)
                    #expect(
                        try workspace.repo(
                            "backup", ["--agent", "a", "--component", "c"],
                            input: workspace.write("data", data), repository: repository
                        ).status == 0)
                    #expect(
                        try workspace.repo("restore", ["latest"], repository: repository).stdout
                            == data)
                }
            }
        }

        @Test(
            "on a terminal a long backup draws a progress line on stderr; piped output stays clean")
        func progressOnTerminal() async throws {
            try await withTemporaryDirectory { root in
                let workspace = Workspace(root: root)
                try workspace.initialize()
                var random = SeededRandom(seed: 9)
                let dump = workspace.write("dump", random.dumpLikeText(40_000_000))
                // script(1) gives the command a pseudo-terminal as stdin/stdout/stderr.
                let command =
                    "ZENTORIA_PASSWORD_FILE=\(workspace.passwordFile) \(Self.binary) repo backup --repo \(workspace.repo) "
                    + "--agent a --component c < \(dump) > \(root)/id"
                let result = try CommandRunner.run(
                    "/usr/bin/script", ["-qec", command, "/dev/null"])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(
                    result.stdoutText.contains("backup: "),
                    "no progress line in \(result.stdoutText.prefix(300))")
                #expect(result.stdoutText.contains("MB/s"))
                let id = try String(contentsOfFile: "\(root)/id", encoding: .utf8)
                #expect(
                    id.trimmingCharacters(in: .whitespacesAndNewlines).count == 64,
                    "stdout holds only the ID")
            }
        }

        @Test("--help explains the commands")
        func help() throws {
            let result = try CommandRunner.run(Self.binary, ["repo", "--help"])
            #expect(result.status == 0)
            for word in [
                "init", "backup", "restore", "snapshots", "check", "forget", "prune", "stats",
                "ZENTORIA_PASSWORD_FILE",
            ] {
                #expect(result.stdoutText.contains(word), "help lacks \(word)")
            }
        }
    }
}
