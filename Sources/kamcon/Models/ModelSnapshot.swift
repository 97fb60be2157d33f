import Shared

/// Which list the poller should fetch besides the overview counters; only the visible
/// screen's list is polled, so a big location table costs nothing while unseen.
enum ModelListKind: Sendable, Equatable {
    /// Nothing extra.
    case none
    /// `tm.list`.
    case transactions
    /// `dlg.list`.
    case dialogs
    /// `ul.dump`.
    case registrations
}

/// Everything the screens show, as one value the poller publishes and the UI copies.
struct ServerSnapshot: Equatable, Sendable {
    /// Link state.
    var connection: ConnectionState
    /// Overview facts.
    var info = ServerInfo()
    /// Sparkline series.
    var rates = RateBook()
    /// Statistics with deltas.
    var statistics = StatisticsBook()
    /// Transactions (when polled).
    var transactions: [TransactionRow] = []
    /// Dialogs (when polled).
    var dialogs: [DialogRow] = []
    /// Registrations (when polled).
    var registrations: [AoRRecord] = []
    /// When each list was last fetched (epoch seconds), nil if never.
    var listFetchedAt: [String: Double] = [:]
    /// Method names from `system.listMethods`, for completion.
    var methods: [String] = []
    /// Methods the server does not have (so their screens can say so).
    var missing: Set<String> = []
    /// Last error of a list fetch, by method.
    var listErrors: [String: String] = [:]
    /// The Debugger screen's data (published by its own thread, `ModelDebuggerRunner`).
    var debugger = DebuggerSnapshot()
    /// The Parameters screen's data (published by its own thread, `ModelParamsRunner`).
    var params = ParamsSnapshot()
    /// Increases with every publish.
    var generation = 0
    /// When the last poll finished.
    var polledAt: Double = 0

    /// Creates an empty snapshot.
    init(now: Double) { connection = ConnectionState(now: now) }
}

/// A call the UI asked for (command prompt, end dialog, remove contact).
struct PollerRequest: Sendable {
    /// Caller's token to match the reply.
    var id: Int
    /// Method name.
    var method: String
    /// Parameters.
    var params: [RPCValue]
}

/// The answer to a `PollerRequest`.
struct PollerReply: Sendable {
    /// The request.
    var request: PollerRequest
    /// Values or the error.
    var outcome: Result<[RPCValue], RPCClientError>
}
