import Foundation

/// Openings of the scripts the integration tests run, so that each test's config states only
/// what is its own (modules, modparams, routes). The text they build is what the tests used
/// to spell out line by line; `{PORT}` is filled in by `DaemonProcess`.

/// A proxy script: the UDP socket on 127.0.0.1:{PORT} (the one `DaemonProcess` probes), any
/// further core lines (`core`, e.g. a second listen), logging to stderr at level 2 (the tests
/// read the daemon's log), one `loadmodule "NAME.so"` per module, then `script`.
func proxyConfig(loading modules: [String], core: [String] = [], _ script: String) -> String {
    (["listen=udp:127.0.0.1:{PORT}"] + core + ["log_stderror=yes", "debug=2"] + loadLines(modules))
        .joined(separator: "\n") + "\n" + script
}

/// A script driven over the ctl socket (kamcmd, the debugger): `debug`, `children` when given,
/// the UDP socket, one `loadmodule` per module, then `script`. The opening is 2 lines (3 with
/// `children`) plus one a module, so the line numbers the debugger tests name stay as counted.
func controlConfig(debug: Int = 2, children: Int? = nil, loading modules: [String], _ script: String) -> String {
    (["debug=\(debug)"] + (children.map { ["children=\($0)"] } ?? []) + ["listen=udp:127.0.0.1:{PORT}"]
        + loadLines(modules)).joined(separator: "\n") + "\n" + script
}

private func loadLines(_ modules: [String]) -> [String] {
    modules.map { "loadmodule \"\($0).so\"" }
}

extension DaemonProcess {
    /// Starts `config` with each `{NAME}` of `peers` (`{UAS}`, `{UAS2}`...) replaced by the
    /// port of the loopback peer it stands for: where the script relays to.
    convenience init(config: String, relayingTo peers: [String: UDPPeer]) throws {
        let filled = peers.reduce(config) { $0.replacingOccurrences(of: "{\($1.key)}", with: String($1.value.port)) }
        try self.init(config: filled)
    }
}

/// A caller (`uac`) and two callees on loopback, and a daemon on `config` relaying to the
/// callees as `{UAS}` and `{UAS2}`: the setup of the suites that proxy between peers they play.
func proxyBetweenPeers(_ config: String) throws -> (uac: UDPPeer, uas: UDPPeer, uas2: UDPPeer, daemon: DaemonProcess) {
    let uac = try UDPPeer(), uas = try UDPPeer(), uas2 = try UDPPeer()
    return (uac, uas, uas2, try DaemonProcess(config: config, relayingTo: ["UAS": uas, "UAS2": uas2]))
}
