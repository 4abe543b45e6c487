import Components
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Proto
import SwiftProtobuf
import Synchronization
import Transport

/// Streams a component's dump up (backup) or a snapshot down into it (restore), reporting
/// progress about once a second.
struct JobRunner: Sendable {
    let channel: Zentoria_V1_AgentChannel.Client<HTTP2ClientTransport.Posix>
    let report: AsyncStream<Zentoria_V1_AgentMessage>.Continuation

    /// Dump → upload. The trailer (the byte count) is sent only after the dump succeeded, so a
    /// failed dump can never be stored as a snapshot. No end-to-end hash: TLS authenticates every
    /// record in transit and chunk IDs are MACs of the content (README, "Channel").
    func backup(_ job: Zentoria_V1_Job, component: any Component) async throws -> UInt64 {
        let progress = Progress(job: job.jobID, report: report)
        let dumpFailure = FirstError()
        let response: Zentoria_V1_UploadResponse
        do {
            response = try await upload(
                job, component: component, progress: progress, dumpFailure: dumpFailure)
        } catch {
            // The RPC reports a cancelled stream; the dump's own error says why.
            throw dumpFailure.error ?? error
        }
        return response.bytes
    }

    private func upload(
        _ job: Zentoria_V1_Job, component: any Component, progress: Progress,
        dumpFailure: FirstError
    ) async throws -> Zentoria_V1_UploadResponse {
        try await channel.upload(requestProducer: { writer in
            try await writer.write(
                .with {
                    $0.header = .with {
                        $0.jobID = job.jobID
                        $0.component = component.name
                        $0.kind = component.kind
                    }
                })
            var total: UInt64 = 0
            var pending: [UInt8] = []
            pending.reserveCapacity(ChannelLimits.blockSize)
            func send(_ block: [UInt8]) async throws {
                total += UInt64(block.count)
                try await writer.write(.with { $0.data = Data(block) })
                progress.update(total)
            }
            do {
                try await component.dump { block in
                    if pending.isEmpty, block.count == ChannelLimits.blockSize {
                        try await send(block)  // the usual case: no copy
                        return
                    }
                    // Coalesce small reads into blocks of the channel's message size.
                    pending.append(contentsOf: block)
                    while pending.count >= ChannelLimits.blockSize {
                        try await send(Array(pending.prefix(ChannelLimits.blockSize)))
                        pending.removeFirst(ChannelLimits.blockSize)
                    }
                }
            } catch {
                dumpFailure.record(error)
                throw error
            }
            if !pending.isEmpty { try await send(pending) }
            try await writer.write(.with { $0.trailer = .with { $0.totalBytes = total } })
        })
    }

    /// Download → restore → the component's self-check. The stream is checked against its
    /// trailer; a short or altered stream fails the restore.
    /// - Returns: bytes restored and the self-check's summary.
    func restore(
        _ job: Zentoria_V1_Job, component: any Component
    ) async throws -> (bytes: UInt64, check: String) {
        let progress = Progress(job: job.jobID, report: report)
        let target = job.target.isEmpty ? nil : job.target
        let bytes = try await channel.download(.with { $0.jobID = job.jobID }) { response in
            let stream = DownloadedDump(messages: response.messages, progress: progress)
            try await component.restore(from: stream, target: target, overwrite: job.overwrite)
            return progress.total
        }
        do {
            return (bytes, try await component.checkRestore(target: target))
        } catch let error as ComponentError {
            throw ComponentError(.checkFailed, "restore self-check failed: \(error.message)")
        }
    }
}

/// The first error seen by a stream producer, kept for the caller.
final class FirstError: Sendable {
    private let stored = Mutex<(any Error)?>(nil)
    var error: (any Error)? { stored.withLock { $0 } }
    func record(_ error: any Error) { stored.withLock { $0 = $0 ?? error } }
}

/// Rate-limited progress messages for one job.
final class Progress: Sendable {
    private struct State {
        var total: UInt64 = 0
        var lastReport = ContinuousClock.now
    }
    private let job: String
    private let reportStream: AsyncStream<Zentoria_V1_AgentMessage>.Continuation
    private let state = Mutex(State())

    init(job: String, report: AsyncStream<Zentoria_V1_AgentMessage>.Continuation) {
        (self.job, self.reportStream) = (job, report)
    }

    var total: UInt64 { state.withLock { $0.total } }

    func update(_ total: UInt64) {
        let due = state.withLock { state -> Bool in
            state.total = total
            guard ContinuousClock.now - state.lastReport >= .seconds(1) else { return false }
            state.lastReport = .now
            return true
        }
        if due {
            reportStream.yield(
                .with {
                    $0.progress = .with {
                        $0.jobID = job
                        $0.bytes = total
                    }
                })
        }
    }
}

/// A download as a dump: data until the trailer, whose size and SHA-256 must match.
struct DownloadedDump: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let messages: RPCAsyncSequence<Zentoria_V1_DownloadResponse, any Error>
    let progress: Progress

    struct AsyncIterator: AsyncIteratorProtocol {
        var messages: RPCAsyncSequence<Zentoria_V1_DownloadResponse, any Error>.AsyncIterator
        let progress: Progress
        var hasher = SHA256()
        var total: UInt64 = 0
        var isFinished = false

        mutating func next() async throws -> [UInt8]? {
            guard !isFinished else { return nil }
            guard let message = try await messages.next() else {
                throw TransportError(.invalidRequest, "the restore stream ended early")
            }
            switch message.part {
            case .data(let data):
                let bytes = [UInt8](data)
                hasher.update(data: bytes)
                total += UInt64(bytes.count)
                progress.update(total)
                return bytes
            case .trailer(let trailer):
                isFinished = true
                guard trailer.totalBytes == total, Data(hasher.finalize()) == trailer.sha256 else {
                    throw TransportError(
                        .invalidRequest, "the restore stream does not match its trailer")
                }
                return nil
            case .none:
                throw TransportError(.invalidRequest, "an empty message in the restore stream")
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages.makeAsyncIterator(), progress: progress)
    }
}
