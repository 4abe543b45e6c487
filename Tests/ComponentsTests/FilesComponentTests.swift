import Components
import Foundation
import TestSupport
import Testing

@Suite("Files component")
struct FilesComponentTests {
    /// A tar archive made by Python's tarfile with hostile member names.
    static func craftedArchive(outside: String) throws -> [UInt8] {
        let script = """
            import io, sys, tarfile
            outside = sys.argv[1]
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
                def add(name, data=b"x", kind=tarfile.REGTYPE, link=""):
                    info = tarfile.TarInfo(name)
                    info.type = kind
                    info.linkname = link
                    info.size = len(data) if kind == tarfile.REGTYPE else 0
                    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
                add("../escaped-dotdot")
                add(outside + "/escaped-absolute")
                add("evil", kind=tarfile.SYMTYPE, link=outside)
                add("evil/escaped-through-link")
                add("ok.txt", b"fine")
            sys.stdout.buffer.write(buffer.getvalue())
            """
        let result = try CommandRunner.run("/usr/bin/python3", ["-c", script, outside])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test("a crafted archive cannot write outside the restore target")
    func pathTraversal() async throws {
        try await withTemporaryDirectory { root in
            let outside = "\(root)/outside"
            let target = "\(root)/target/inner"
            try FileManager.default.createDirectory(
                atPath: outside, withIntermediateDirectories: true)
            let archive = try Self.craftedArchive(outside: outside)
            let component = try FilesComponent(
                name: "etc", configuration: .init(path: "\(root)/unused"))
            do {
                try await component.restore(
                    from: Blocks(bytes: archive, blockSize: 4096), target: target, overwrite: false)
            } catch let error as ComponentError {
                #expect(error.code == .restoreFailed, "\(error)")
            }
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty,
                "nothing escaped into \(outside)")
            #expect(!FileManager.default.fileExists(atPath: "\(root)/target/escaped-dotdot"))
            #expect(!FileManager.default.fileExists(atPath: "\(root)/escaped-dotdot"))
        }
    }

    @Test("dump then restore keeps contents, modes and symlinks; a non-empty target is refused")
    func roundTrip() async throws {
        try await withTemporaryDirectory { root in
            let source = "\(root)/source"
            try FileManager.default.createDirectory(
                atPath: "\(source)/a/b", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: "\(source)/a/b/data", contents: Data((0..<50_000).map { UInt8($0 % 7) }),
                attributes: [.posixPermissions: 0o600])
            _ = FileManager.default.createFile(
                atPath: "\(source)/skip.tmp", contents: Data("x".utf8))
            try FileManager.default.createSymbolicLink(
                atPath: "\(source)/link", withDestinationPath: "a/b/data")
            let component = try FilesComponent(
                name: "tree", configuration: .init(path: source, exclude: ["*.tmp"]))
            var dump: [UInt8] = []
            try await component.dump { dump += $0 }
            let target = "\(root)/restored"
            try await component.restore(
                from: Blocks(bytes: dump, blockSize: 10_000), target: target, overwrite: false)
            #expect(
                FileManager.default.contents(atPath: "\(target)/a/b/data")
                    == FileManager.default.contents(atPath: "\(source)/a/b/data"))
            #expect(
                try FileManager.default.destinationOfSymbolicLink(atPath: "\(target)/link")
                    == "a/b/data")
            #expect(
                try FileManager.default.attributesOfItem(atPath: "\(target)/a/b/data")[
                    .posixPermissions] as? Int == 0o600)
            #expect(!FileManager.default.fileExists(atPath: "\(target)/skip.tmp"), "excluded")
            #expect(
                try await component.checkRestore(target: target)
                    == "\(target): 1 file(s), 50000 byte(s)")
            await #expect(throws: ComponentError(.checkFailed, "")) {
                _ = try await component.checkRestore(target: "\(root)/never-restored")
            }
            await #expect(throws: ComponentError(.refused, "")) {
                try await component.restore(
                    from: Blocks(bytes: dump, blockSize: 10_000), target: target, overwrite: false)
            }
        }
    }

    @Test("a dump command that fails carries its stderr; one that prints nothing fails")
    func commandFailures() async throws {
        let failing = try CommandComponent(
            name: "c", configuration: .init(dump: ["sh", "-c", "echo oops >&2; exit 7"]))
        do {
            try await failing.dump { _ in }
            Issue.record("the dump should have failed")
        } catch let error as ComponentError {
            #expect(error.code == .dumpFailed)
            #expect(
                error.message.contains("status 7") && error.message.contains("oops"), "\(error)")
        }
        let silent = try CommandComponent(name: "c", configuration: .init(dump: ["true"]))
        await #expect(throws: ComponentError(.dumpFailed, "")) { try await silent.dump { _ in } }
        let missing = try CommandComponent(
            name: "c", configuration: .init(dump: ["no-such-tool-zentoria"]))
        await #expect(throws: ComponentError.self) { try await missing.dump { _ in } }
    }

    @Test("a command's restore self-check: its exit status decides, its first line reports")
    func commandCheck() async throws {
        let passing = try CommandComponent(
            name: "c",
            configuration: .init(
                dump: ["true"], check: ["sh", "-c", "echo \"{target}: 3 keys\"; echo more"]))
        #expect(try await passing.checkRestore(target: "db7") == "db7: 3 keys")
        let failing = try CommandComponent(
            name: "c",
            configuration: .init(dump: ["true"], check: ["sh", "-c", "echo 'no keys' >&2; exit 2"]))
        do {
            _ = try await failing.checkRestore(target: nil)
            Issue.record("the check should have failed")
        } catch let error as ComponentError {
            #expect(error.code == .checkFailed && error.message.contains("no keys"), "\(error)")
        }
        let unchecked = try CommandComponent(name: "c", configuration: .init(dump: ["true"]))
        #expect(try await unchecked.checkRestore(target: nil) == "no check command configured")
    }
}
