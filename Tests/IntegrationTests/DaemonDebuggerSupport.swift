import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A daemon with the debugger loaded and a binrpc client on its ctl socket.
final class DebuggerSession {
    let daemon: DaemonProcess
    let rpc: RPCBinrpcClient
    let cfgPath: String

    init(config: String) throws {
        daemon = try DaemonProcess(config: config)
        cfgPath = daemon.dir.appendingPathComponent("test.cfg").path
        // stepping answers within step_loops * step_usleep; leave room for a loaded machine
        rpc = try RPCBinrpcClient(address: .unixStream(path: daemon.dir.path + "/kamailio_ctl"), timeout: .seconds(40))
    }

    func stop() {
        rpc.close()
        daemon.stop()
    }

    /// A call's first value, or the fault as `fault: <code> <text>`.
    func call(_ method: String, _ params: RPCValue...) -> RPCValue {
        do {
            return try rpc.call(method, params).first ?? .null
        } catch {
            if case .fault(let f) = error { return .string("fault: \(f.code) \(f.message)") }
            return .string("error: \(error)")
        }
    }

    /// All values of a call.
    func values(_ method: String, _ params: RPCValue...) -> [RPCValue] {
        (try? rpc.call(method, params)) ?? []
    }

    /// Text reply of a call.
    func text(_ method: String, _ params: RPCValue...) -> String {
        do {
            return try rpc.call(method, params).first?.stringValue ?? "<no string>"
        } catch {
            if case .fault(let f) = error { return "fault: \(f.code) \(f.message)" }
            return "error: \(error)"
        }
    }

    /// The pids core.psx gives the UDP workers.
    func workerPIDs() -> [Int] {
        values("core.psx").compactMap { v -> Int? in
            guard v["DSC"]?.stringValue?.hasPrefix("udp receiver") == true else { return nil }
            return v["PID"]?.intValue
        }
    }

    /// Waits until some worker reports a stopped state; returns its dbg.ls struct.
    func waitForStoppedWorker(timeout: Double = 30) -> RPCValue? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for v in values("dbg.ls") where (v["state"]?.intValue ?? 0) != 0 { return v }
            usleep(50_000)
        }
        return nil
    }

    /// Waits until `pid` is no longer stopped.
    func waitUntilRunning(_ pid: Int, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if call("dbg.ls", .int(pid))["state"]?.intValue == 0 { return true }
            usleep(50_000)
        }
        return false
    }
}

/// sipsak sending one request from a file, in the background. Its T1 is raised so it does
/// not retransmit while a worker sits at a breakpoint (a retransmission would be taken by
/// another worker and stop there too, as in Kamailio).
final class SipsakRequest {
    let process = Process()
    private let output = Pipe()

    init(_ request: String, port: UInt16, dir: URL, name: String) throws {
        let file = dir.appendingPathComponent(name)
        try request.replacingOccurrences(of: "\n", with: "\r\n").write(to: file, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: which("sipsak") ?? "/usr/bin/sipsak")
        process.arguments = ["-vv", "--timer-t1=60000", "-f", file.path, "-s", "sip:bp@127.0.0.1:\(port)"]
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Waits for sipsak to exit; its output (empty after a timeout, when it is killed).
    func finish(timeout: Double = 30) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}

/// A REGISTER for `sip:bp@...` as sipsak sends it from a file.
func debuggerRegister(port: UInt16, callID: String) -> String {
    """
    REGISTER sip:bp@127.0.0.1:\(port) SIP/2.0
    From: <sip:bp@127.0.0.1>;tag=dbg1
    To: <sip:bp@127.0.0.1>
    Call-ID: \(callID)
    CSeq: 1 REGISTER
    Contact: <sip:bp@127.0.0.1:5999>
    Max-Forwards: 70
    Content-Length: 0


    """
}
