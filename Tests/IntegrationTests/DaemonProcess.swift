import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real daemon, started as a child process on a free loopback port and stopped by PID.
final class DaemonProcess {
    let process = Process()
    let port: UInt16
    let dir: URL
    let logURL: URL
    private let logHandle: FileHandle

    /// Starts `kamailiod -DD -E` with `config` written to a temporary file (or the embedded
    /// default when nil, with `-A DEFAULT_PORT=port`). `{PORT}` in `config` is replaced by
    /// the chosen port. Waits until it answers OPTIONS over UDP on 127.0.0.1.
    init(config: String? = nil, extraArgs: [String] = [], port: UInt16 = freePort(),
         waitForUDP: Bool = true) throws {
        self.port = port
        dir = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("kamailiod-test-\(getpid())-\(port)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        logURL = dir.appendingPathComponent("daemon.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        logHandle = try FileHandle(forWritingTo: logURL)
        var args = ["-DD", "-E", "-w", dir.path, "-Y", dir.path, "-P", dir.appendingPathComponent("pid").path]
        if let config {
            let cfg = dir.appendingPathComponent("test.cfg")
            try config.replacingOccurrences(of: "{PORT}", with: String(port)).write(to: cfg, atomically: true, encoding: .utf8)
            args += ["-f", cfg.path]
        } else {
            args += ["-A", "DEFAULT_PORT=\(port)"]
        }
        args += extraArgs
        process.executableURL = TestPaths.daemon
        process.arguments = args
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        // The pid file is written once every socket is bound.
        let pidPath = dir.appendingPathComponent("pid").path
        for _ in 0..<1000 where process.isRunning && !FileManager.default.fileExists(atPath: pidPath) { usleep(10_000) }
        guard process.isRunning, FileManager.default.fileExists(atPath: pidPath) else {
            stop()
            throw PeerError.socket("daemon did not start on port \(port); log:\n\(log)")
        }
        if waitForUDP {
            let peer = try UDPPeer()
            for sent in 1...100 {
                guard process.isRunning else { break }
                peer.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(peer.port)"),
                          to: "127.0.0.1", port: port)
                if peer.receive(timeout: 0.1) != nil {
                    // A slow start leaves earlier probes queued: let them be answered now, so
                    // none runs the script later, in the middle of a test (counters, breakpoints).
                    var pending = sent - 1
                    while pending > 0, peer.receive(timeout: 3) != nil { pending -= 1 }
                    return
                }
            }
            stop()
            throw PeerError.socket("daemon did not answer on port \(port); log:\n\(log)")
        }
    }

    var pid: Int32 { process.processIdentifier }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// SIGTERM, then up to 5 s for a clean exit, then SIGKILL. Returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        try? logHandle.close()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: dir)
    }
}
