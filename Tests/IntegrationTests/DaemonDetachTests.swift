import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Without -D the daemon detaches the way init scripts expect: the command returns once the
/// server is really up (exit 0) or has failed (non-zero, the reason on the terminal), and the
/// detached server lives in its own session with nothing left on the terminal.
@Suite(.serialized)
struct DaemonDetachTests {
    /// Runs the launcher with its output in a file (a pipe would stay open if the daemon kept
    /// the terminal, and this test must not hang on that); returns status, output, seconds.
    /// posix_spawn + waitpid rather than Foundation's Process: Process missed the exit of a
    /// launcher that forks and exits within milliseconds and then waited forever.
    private func launch(_ args: [String], dir: URL) throws -> (status: Int32, output: String, seconds: Double) {
        let out = dir.appendingPathComponent("launcher.out").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = [TestPaths.daemon.path] + args
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let start = Date()
        let rc = posix_spawn(&pid, TestPaths.daemon.path, &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw PeerError.socket("posix_spawn: \(rc)") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(60)
        var reaped = false
        while Date() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { reaped = true; break }
            usleep(10_000)
        }
        if !reaped { kill(pid, SIGKILL); waitpid(pid, &status, 0); status = 0x7f00 }
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "", Date().timeIntervalSince(start))
    }

    private func tempDir() throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("kamailiod-detach-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    private func readPid(_ path: String) -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private func waitGone(_ pid: Int32, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if kill(pid, 0) != 0 { return true }
            // A zombie (reparented, not yet reaped) counts as gone.
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               stat.contains(") Z ") { return true }
            usleep(20_000)
        }
        return false
    }

    @Test(.enabled(if: inIsolatedNetwork()))
    func detachesAfterStartAndServes() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = freePort()
        let pidFile = dir.appendingPathComponent("pid").path
        let r = try launch(["-w", dir.path, "-Y", dir.path, "-P", pidFile, "-A", "DEFAULT_PORT=\(port)"], dir: dir)
        #expect(r.status == 0, "launcher output:\n\(r.output)")
        let pid = try #require(readPid(pidFile), "no pid file after the launcher returned")
        defer { if kill(pid, 0) == 0 { kill(pid, SIGKILL) } }
        #expect(kill(pid, 0) == 0, "the detached daemon is not running")
        #expect(getsid(pid) == pid, "the daemon should lead its own session")
        // The launcher returned only after the sockets were bound: the first request is answered.
        let peer = try UDPPeer()
        peer.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(peer.port)"),
                  to: "127.0.0.1", port: port)
        #expect(statusCode(peer.receive(timeout: 5)) == 200)
        // Terminal descriptors now point to /dev/null (nothing writes into the shell's tty).
        let fd1 = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1")
        let fd2 = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/2")
        #expect(fd1 == "/dev/null")
        #expect(fd2 == "/dev/null")
        kill(pid, SIGTERM)
        #expect(waitGone(pid, seconds: 10), "SIGTERM did not stop the detached daemon")
        #expect(!FileManager.default.fileExists(atPath: pidFile), "pid file left behind after a clean stop")
    }

    @Test(.enabled(if: inIsolatedNetwork()))
    func startFailureReachesTheLauncher() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = freePort()
        // Occupy the port so the detached child cannot bind it.
        let blocker = try UDPPeer(port: port)
        let r = try launch(["-w", dir.path, "-Y", dir.path, "-P", dir.appendingPathComponent("pid").path,
                            "-A", "DEFAULT_PORT=\(port)"], dir: dir)
        #expect(r.status != 0, "launcher claimed success although the port is taken:\n\(r.output)")
        #expect(r.output.contains("cannot bind"), "the reason should reach the terminal:\n\(r.output)")
        #expect(r.seconds < 30)
        #expect(blocker.port == port)  // keeps the blocker bound until here
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("pid").path))
    }
}
