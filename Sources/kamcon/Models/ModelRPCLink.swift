import Shared

/// A private RPC connection with its reconnect back-off, for the runners that own one
/// (Debugger, Params): they call while it is open and, after a failure, try again no
/// sooner than two seconds later.
struct ModelRPCLink {
    private let connect: ModelPoller.Connect
    private(set) var client: (any RPCClient)?
    private var nextAttempt = 0.0

    init(connect: @escaping ModelPoller.Connect) { self.connect = connect }

    var isOpen: Bool { client != nil }

    /// Opens a new client when the back-off allows (nil: still waiting). A failure to
    /// connect starts the back-off and is thrown.
    mutating func reopen(now: Double) throws(RPCClientError) -> (any RPCClient)? {
        guard now >= nextAttempt else { return nil }
        do {
            let c = try connect()
            client = c
            return c
        } catch {
            lost(now: now)
            throw error
        }
    }

    /// Drops the client; the next attempt waits two seconds.
    mutating func lost(now: Double) {
        client = nil
        nextAttempt = now + 2
    }

    /// One call on the open client.
    func call(_ method: String, _ params: [RPCValue]) throws(RPCClientError) -> [RPCValue] {
        guard let c = client else { throw .connectionClosed }
        return try c.call(method, params)
    }
}
