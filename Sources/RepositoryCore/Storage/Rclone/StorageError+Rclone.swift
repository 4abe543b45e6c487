extension StorageError {
    /// Classifies a failed rclone run by its exit status and what it printed on stderr.
    ///
    /// rclone's exit statuses: 1 syntax or usage error, 2 not otherwise categorised, 3 directory
    /// not found, 4 file not found, 5 temporary error, 6 less serious error, 7 fatal error,
    /// 8 transfer limit exceeded, 9 no files transferred. Many failures (a missing remote,
    /// refused credentials, an unreachable host) exit with 1 or 2, so stderr decides first.
    /// - Parameters:
    ///   - operation: what was attempted, e.g. `get data/ab/abcd`.
    ///   - remoteName: the configured remote's name, for the unknown-remote message.
    ///   - stderr: rclone's stderr, already stripped of anything secret.
    package init(
        rcloneFailed operation: String, remoteName: String, status: Int32, wasSignalled: Bool,
        stderr: String, file: String = #fileID, line: Int = #line
    ) {
        let text = stderr.lowercased()
        func mentions(_ phrases: [String]) -> Bool { phrases.contains { text.contains($0) } }
        let exit = wasSignalled ? "killed by signal \(status)" : Self.rcloneExitMeaning(status)
        let code: Code
        var reason = "rclone \(exit)"
        if text.contains("didn't find section in config file") {
            code = .permanent
            reason = "unknown rclone remote '\(remoteName)' (no such section in the rclone config)"
        } else if mentions(Self.notFoundPhrases) || (!wasSignalled && (status == 3 || status == 4))
        {
            code = .notFound
        } else if mentions(Self.refusalPhrases) {
            code = .unauthorized
        } else if mentions(Self.transientPhrases) || wasSignalled || status == 5 {
            code = .transient
        } else if mentions(Self.noSpacePhrases) {
            code = .noSpace
        } else {
            // 1, 2, 6, 7 (fatal, e.g. a suspended account), 8 (--max-transfer reached), 9.
            code = .permanent
        }
        self.init(
            code, "\(operation): \(reason): \(Self.rcloneDiagnostics(stderr))", file: file,
            line: line)
    }

    /// The last few meaningful lines of rclone's stderr, without log timestamps, for messages.
    static func rcloneDiagnostics(_ stderr: String) -> String {
        let lines = stderr.split(whereSeparator: \.isNewline).map { line -> Substring in
            var line = line.drop { $0 == " " || $0 == "\t" }
            // Log lines start with "2026/11/27 03:58:49 ".
            let stamp = line.prefix(20)
            if stamp.count == 20, stamp.dropLast().allSatisfy({ $0.isNumber || "/: ".contains($0) })
            {
                line = line.dropFirst(20)
            }
            return line.drop { $0 == " " }
        }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { return "no output on stderr" }
        let tail = lines.suffix(4).joined(separator: " | ")
        return tail.count > 800 ? "…" + tail.suffix(800) : tail
    }

    private static func rcloneExitMeaning(_ status: Int32) -> String {
        let meaning =
            switch status {
            case 1: "syntax or usage error"
            case 2: "error not otherwise categorised"
            case 3: "directory not found"
            case 4: "file not found"
            case 5: "temporary error"
            case 6: "less serious error"
            case 7: "fatal error"
            case 8: "transfer limit exceeded"
            case 9: "no files transferred"
            default: "unknown status"
            }
        return "exited with \(status) (\(meaning))"
    }

    // Lowercased stderr fragments, checked in the order of the properties below.

    private static let notFoundPhrases = [
        "directory not found", "object not found", "file not found",
        "is a directory or doesn't exist", "no such file or directory", "itemnotfound",
    ]

    private static let refusalPhrases = [
        "unauthorized", "unauthenticated", "forbidden", "permission denied", "access denied",
        "accessdenied", "invalid_grant", "invalid_client", "expired_token", "token expired",
        "couldn't fetch token", "failed to refresh token", "invalidaccesskeyid",
        "signaturedoesnotmatch", "authentication failed",
    ]

    private static let transientPhrases = [
        "connection refused", "connection reset", "broken pipe", "timeout", "timed out",
        "temporary failure", "temporarily unavailable", "no such host", "network is unreachable",
        "unexpected eof", "tls handshake", "too many requests", "rate limit", "ratelimit",
        "throttl", "activitylimitreached", "service unavailable", "bad gateway",
        "gateway timeout", "internal server error", "server misbehaving",
        // WebDAV and OneDrive: another request holds the resource for a moment.
        "423 locked", "resourcelocked",
    ]

    private static let noSpacePhrases = [
        "no space left", "insufficient storage", "insufficientstorage", "quotalimitreached",
        "quota exceeded", "quotaexceeded", "disk quota",
    ]
}
