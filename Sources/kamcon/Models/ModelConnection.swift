/// The link to the daemon as the status bar tells it, as a value with event methods so the
/// reconnect logic is tested without sockets.
struct ConnectionState: Equatable, Sendable {
    /// Where the link is.
    enum Phase: Equatable, Sendable {
        /// First attempt in progress.
        case connecting
        /// Calls succeed.
        case connected
        /// The last attempt or call failed; retrying.
        case disconnected
    }

    /// Current phase.
    private(set) var phase: Phase = .connecting
    /// When the phase began (epoch seconds).
    private(set) var since: Double
    /// Why the link is down.
    private(set) var lastError: String?
    /// Failed attempts since the last success.
    private(set) var failures = 0
    /// Successful connects so far (1 = first attach; more means reconnects happened).
    private(set) var connects = 0
    /// When the next attempt is due.
    private(set) var nextAttempt: Double

    /// Starts in `connecting` at `now`.
    init(now: Double) {
        since = now
        nextAttempt = now
    }

    /// A connect (or call) succeeded.
    mutating func connected(at now: Double) {
        if phase != .connected {
            phase = .connected
            since = now
            connects += 1
        }
        failures = 0
        lastError = nil
    }

    /// A connect or call failed with `error`; schedules the next attempt with a short
    /// back-off (1, 2, 4 s, then every 5 s) so a restarted daemon is found quickly.
    mutating func failed(_ error: String, at now: Double) {
        if phase != .disconnected {
            phase = .disconnected
            since = now
        }
        failures += 1
        lastError = error
        nextAttempt = now + retryDelay
    }

    /// Seconds between attempts after the current number of failures.
    var retryDelay: Double { failures <= 0 ? 0 : min(5, Double(1 << min(failures - 1, 3))) }

    /// True when the poller should try to connect at `now`.
    func shouldAttempt(at now: Double) -> Bool { phase != .connected && now >= nextAttempt }

    /// One line for the status bar.
    func summary(address: String, now: Double) -> String {
        switch phase {
        case .connecting:
            return "connecting to \(address)…"
        case .connected:
            return connects > 1 ? "connected to \(address) (reconnected)" : "connected to \(address)"
        case .disconnected:
            let down = ModelSIPText.duration(Int(now - since))
            let retry = max(0, Int((nextAttempt - now).rounded(.up)))
            return "DISCONNECTED from \(address) for \(down): \(lastError ?? "unknown error") — retrying in \(retry)s"
        }
    }
}
