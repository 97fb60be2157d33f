import Shared

/// The poller thread's private side: owns the RPC client and does the calls.
///
/// Kept apart from `ModelPoller` so `poll` can be driven step by step in tests with a fake
/// client and explicit clock values.
final class ModelPollerWorker {
    private let connect: ModelPoller.Connect
    private var client: (any RPCClient)?
    private var firstSeen: [String: Double] = [:]
    private var cycles = 0

    /// A worker that opens clients with `connect`.
    init(connect: @escaping ModelPoller.Connect) { self.connect = connect }

    /// Makes a UI call (connecting first if needed).
    func call(_ request: PollerRequest, snapshot: inout ServerSnapshot) -> PollerReply {
        let now = ModelClock.now()
        if client == nil { open(&snapshot, now: now) }
        guard let c = client else {
            return PollerReply(request: request, outcome: .failure(.connectionClosed))
        }
        do {
            let values = try c.call(request.method, request.params)
            return PollerReply(request: request, outcome: .success(values))
        } catch {
            if case .fault = error {} else { lost(error, &snapshot, now: now) }
            return PollerReply(request: request, outcome: .failure(error))
        }
    }

    /// One poll: overview counters always, plus the wanted list.
    func poll(_ snap: inout ServerSnapshot, want: ModelListKind, now: Double) {
        if client == nil {
            guard snap.connection.shouldAttempt(at: now) else { return }
            open(&snap, now: now)
            guard client != nil else { return }
        }
        cycles += 1
        do {
            if let v = try fetch("core.uptime", [], &snap) { snap.info.setUptime(v, now: now) }
            if let v = try fetch("stats.get_statistics", ["all"], &snap) {
                snap.statistics.update(StatCounter.parse(v), at: now)
            }
            if let v = try fetch("tm.stats", [], &snap) { snap.info.tm = ServerInfo.numbers(v) }
            if let v = try fetch("dlg.stats_active", [], &snap) { snap.info.dialogs = ServerInfo.numbers(v) }
            if let v = try fetch("core.shmmem", [], &snap) { snap.info.memory = MemoryInfo.parse(v) }
            if cycles % 10 == 1, let v = try fetch("core.psx", [], &snap) { snap.info.processes = ProcessRow.parse(psx: v) }
            switch want {
            case .none: break
            case .transactions:
                if let v = try fetchList("tm.list", [], &snap, now: now) {
                    snap.transactions = TransactionRow.parse(v, now: now, firstSeen: &firstSeen)
                }
            case .dialogs:
                if let v = try fetchList("dlg.list", [], &snap, now: now) { snap.dialogs = DialogRow.parse(v) }
            case .registrations:
                if let v = try fetchList("ul.dump", [], &snap, now: now) {
                    snap.registrations = ModelRegistrations.parse(v)
                }
            }
            let contacts = snap.statistics.value("usrloc:location-contacts")
                ?? snap.statistics.value("usrloc:registered_users")
            snap.rates.sample(stats: snap.statistics, info: snap.info, contacts: contacts, at: now)
            snap.polledAt = now
        } catch {
            lost(error, &snap, now: now)
        }
    }

    private func open(_ snap: inout ServerSnapshot, now: Double) {
        do {
            let c = try connect()
            client = c
            // A freshly (re)attached daemon may have other modules loaded.
            snap.missing = []
            snap.info.version = try c.call("core.version", []).first.map(RPCTextRender.scalarText)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            snap.connection.connected(at: now)
            if let m = try? c.call("system.listMethods", []) { snap.methods = ModelRecords.strings(m).sorted() }
            cycles = 0
        } catch {
            client = nil
            snap.connection.failed(error.description, at: now)
        }
    }

    private func lost(_ error: RPCClientError, _ snap: inout ServerSnapshot, now: Double) {
        client = nil
        snap.connection.failed(error.description, at: now)
    }

    /// Calls a method the overview needs; a fault (method missing, module not loaded)
    /// marks it missing and returns nil, a transport error throws.
    private func fetch(_ method: String, _ params: [RPCValue], _ snap: inout ServerSnapshot) throws(RPCClientError) -> [RPCValue]? {
        guard let c = client, !snap.missing.contains(method) else { return nil }
        do {
            return try c.call(method, params)
        } catch {
            guard case .fault = error else { throw error }
            snap.missing.insert(method)
            return nil
        }
    }

    private func fetchList(_ method: String, _ params: [RPCValue], _ snap: inout ServerSnapshot, now: Double) throws(RPCClientError) -> [RPCValue]? {
        guard let c = client else { return nil }
        do {
            let v = try c.call(method, params)
            snap.listFetchedAt[method] = now
            snap.listErrors[method] = nil
            return v
        } catch {
            switch error {
            case .fault(let f):
                snap.listErrors[method] = "\(f.code) \(f.message)"
            case .protocolError(let why):
                // An undecodable reply closes the client but the server is fine: report it on
                // this list and reconnect quietly at the next poll instead of flapping.
                snap.listErrors[method] = "reply could not be decoded (\(why))"
                client = nil
            default:
                throw error
            }
            return nil
        }
    }
}

import Foundation
