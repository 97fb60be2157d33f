#if canImport(Glibc)
import Glibc
#endif
import Shared
import Synchronization
import Testing
@testable import kamcon

/// An in-process stand-in for the daemon: answers from a table, can be "stopped".
final class FakeRPCServer: Sendable {
    let up = Mutex(true)
    let calls = Mutex<[String]>([])
    let replies: [String: [RPCValue]]

    init(replies: [String: [RPCValue]]) { self.replies = replies }

    func connect() throws(RPCClientError) -> any RPCClient {
        guard up.withLock({ $0 }) else { throw .system(call: "connect /fake", errno: 111) }
        return FakeClient(server: self)
    }

    final class FakeClient: RPCClient {
        let server: FakeRPCServer
        init(server: FakeRPCServer) { self.server = server }
        func call(_ method: String, _ params: [RPCValue]) throws(RPCClientError) -> [RPCValue] {
            guard server.up.withLock({ $0 }) else { throw .connectionClosed }
            server.calls.withLock { $0.append(method) }
            guard let r = server.replies[method] else { throw .fault(RPCFault.commandNotFound(method)) }
            return r
        }
    }
}

@Suite("Poller against a fake server")
struct KamconPollerTests {
    let server = FakeRPCServer(replies: [
        "core.version": ["kamailio 5.6.3 (x86_64/linux) "],
        "core.uptime": [.object(["now": "x", "up_since": "y", "uptime": 10])],
        "system.listMethods": [.array(["core.uptime", "core.version", "dlg.list"])],
        "stats.get_statistics": KamconFixtures.statsBinrpc,
        "dlg.list": [KamconFixtures.dlgListJSON],
    ])

    @Test("a poll fills the snapshot; missing methods are remembered, not retried")
    func poll() {
        let worker = ModelPollerWorker(connect: server.connect)
        var snap = ServerSnapshot(now: 0)
        worker.poll(&snap, want: .dialogs, now: 1)
        #expect(snap.connection.phase == .connected)
        #expect(snap.info.version == "kamailio 5.6.3 (x86_64/linux)")
        #expect(snap.info.uptime == 10)
        #expect(snap.dialogs.count == 2)
        #expect(snap.methods == ["core.uptime", "core.version", "dlg.list"])
        #expect(snap.missing.contains("tm.stats"))
        server.calls.withLock { $0 = [] }
        worker.poll(&snap, want: .none, now: 2)
        #expect(!server.calls.withLock { $0 }.contains("tm.stats"))
        #expect(!server.calls.withLock { $0 }.contains("dlg.list"))
    }

    @Test("a list the server lacks reports its fault instead of an empty list")
    func listFault() {
        let worker = ModelPollerWorker(connect: server.connect)
        var snap = ServerSnapshot(now: 0)
        worker.poll(&snap, want: .transactions, now: 1)
        #expect(snap.listErrors["tm.list"] == "500 command tm.list not found")
        #expect(ViewLists.emptyNote(snap, method: "tm.list", noun: "transactions", filter: "") == "tm.list failed: 500 command tm.list not found")
    }

    @Test("the daemon going away disconnects, keeps data, and reconnects when it is back")
    func reconnect() {
        let worker = ModelPollerWorker(connect: server.connect)
        var snap = ServerSnapshot(now: 0)
        worker.poll(&snap, want: .dialogs, now: 1)
        server.up.withLock { $0 = false }
        worker.poll(&snap, want: .dialogs, now: 2)
        #expect(snap.connection.phase == .disconnected)
        #expect(snap.connection.lastError == "connection closed by the server")
        #expect(snap.dialogs.count == 2)  // the user keeps seeing the last data
        worker.poll(&snap, want: .dialogs, now: 2.5)  // before the back-off: no attempt
        #expect(snap.connection.failures == 1)
        worker.poll(&snap, want: .dialogs, now: 3)
        #expect(snap.connection.failures == 2)
        #expect(snap.connection.lastError?.contains("connect /fake") == true)
        server.up.withLock { $0 = true }
        worker.poll(&snap, want: .dialogs, now: 10)
        #expect(snap.connection.phase == .connected)
        #expect(snap.connection.connects == 2)
    }

    @Test("UI calls go through the worker and come back as replies or faults")
    func calls() {
        let worker = ModelPollerWorker(connect: server.connect)
        var snap = ServerSnapshot(now: 0)
        let ok = worker.call(PollerRequest(id: 1, method: "core.uptime", params: []), snapshot: &snap)
        #expect((try? ok.outcome.get())?.count == 1)
        let bad = worker.call(PollerRequest(id: 2, method: "no.such", params: []), snapshot: &snap)
        if case .failure(.fault(let f)) = bad.outcome { #expect(f.code == 500) } else { Issue.record("expected a fault") }
        #expect(snap.connection.phase == .connected)
    }

    @Test("the threaded poller publishes snapshots and wakes the UI")
    // Synchronous on purpose: an async test sleeping with Task.sleep waits for a thread of
    // the cooperative pool (two on this machine), which blocking integration tests can hold
    // for longer than any deadline here; the poller itself runs on its own thread.
    func threaded() throws {
        let pokes = Mutex(0)
        let poller = ModelPoller(interval: 0.05, connect: server.connect, notify: { pokes.withLock { $0 += 1 } })
        poller.setWanted(.dialogs)
        poller.start()
        defer { poller.stop() }
        let deadline = ContinuousClock.now + .seconds(30)
        while poller.snapshot.dialogs.isEmpty, ContinuousClock.now < deadline { usleep(20_000) }
        #expect(poller.snapshot.dialogs.count == 2)
        #expect(pokes.withLock { $0 } > 0)
        poller.enqueue(PollerRequest(id: 7, method: "core.version", params: []))
        var replies: [PollerReply] = []
        let replyDeadline = ContinuousClock.now + .seconds(30)
        while true {
            replies = poller.takeReplies()
            if !replies.isEmpty || ContinuousClock.now >= replyDeadline { break }
            usleep(10_000)
        }
        #expect(replies.first?.request.id == 7)
    }
}
