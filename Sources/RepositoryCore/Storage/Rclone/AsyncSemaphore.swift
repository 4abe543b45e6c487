import Synchronization

/// Lets at most `permits` bodies run at once; the others wait in arrival order.
///
/// A waiting task that is cancelled stops waiting and throws `CancellationError`.
final class AsyncSemaphore: Sendable {
    private struct State {
        var permits: Int
        var nextTicket = 0
        /// Tickets that asked and have neither been granted nor cancelled.
        var unresolved: Set<Int> = []
        /// Tickets cancelled before their continuation was queued.
        var cancelledEarly: Set<Int> = []
        var waiters: [(ticket: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state: Mutex<State>

    init(permits: Int) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        state = Mutex(State(permits: permits))
    }

    /// Runs `body` holding one permit.
    /// - Throws: `CancellationError` if cancelled while waiting; whatever `body` throws.
    func withPermit<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        let ticket: Int? = state.withLock { state in
            if state.permits > 0 {
                state.permits -= 1
                return nil
            }
            state.nextTicket += 1
            state.unresolved.insert(state.nextTicket)
            return state.nextTicket
        }
        guard let ticket else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if state.cancelledEarly.remove(ticket) != nil {
                        state.unresolved.remove(ticket)
                        return .failure(CancellationError())
                    }
                    // A permit freed since the ticket was drawn found no one queued.
                    if state.permits > 0 {
                        state.permits -= 1
                        state.unresolved.remove(ticket)
                        return .success(())
                    }
                    state.waiters.append((ticket, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard state.unresolved.contains(ticket) else { return nil }
                guard let index = state.waiters.firstIndex(where: { $0.ticket == ticket }) else {
                    state.cancelledEarly.insert(ticket)
                    return nil
                }
                state.unresolved.remove(ticket)
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func release() {
        // A freed permit goes straight to the first waiter, so newcomers cannot overtake it.
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiters.isEmpty else {
                state.permits += 1
                return nil
            }
            let waiter = state.waiters.removeFirst()
            state.unresolved.remove(waiter.ticket)
            return waiter.continuation
        }
        next?.resume()
    }
}
