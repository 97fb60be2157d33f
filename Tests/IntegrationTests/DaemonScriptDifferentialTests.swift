import Foundation
import Testing

/// The differential test of the script language: `differential.cfg` computes values of
/// expressions, pseudo-variables, transformations and function return codes into `X-R-*`
/// reply headers. `expected.txt` holds the headers real Kamailio 5.6.3 sent for the same
/// script and request; kamailiod must send the same ones.
///
/// To re-record after changing the script or the request (needs `kamailio` 5.6 installed,
/// and root for the private network namespace):
///
///     sh Tests/ScriptEngineTests/Fixtures/differential/record.sh
///
/// The fixtures live with the ScriptEngine tests because that target excludes its
/// `Fixtures` folder from the build.
@Suite("Script differential against Kamailio 5.6.3", .serialized)
struct DaemonScriptDifferentialTests {
    static let fixtures = TestPaths.repoRoot.appendingPathComponent("Tests/ScriptEngineTests/Fixtures/differential")

    /// The request of `request.head` with a body, sent from `clientPort`.
    static func request(clientPort: UInt16) throws -> String {
        let head = try String(contentsOf: fixtures.appendingPathComponent("request.head"), encoding: .utf8)
            .replacingOccurrences(of: "{CLIENT_PORT}", with: String(clientPort))
        let lines = head.split(separator: "\n", omittingEmptySubsequences: false)
        let trimmed = lines.reversed().drop { $0.isEmpty }.reversed()
        return trimmed.joined(separator: "\r\n") + "\r\n\r\n" + "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
    }

    /// `expected.txt` without its comment line.
    static func expected() throws -> [String] {
        try String(contentsOf: fixtures.appendingPathComponent("expected.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    @Test("every X-R value matches what Kamailio 5.6.3 recorded for the same script and request")
    func matchesKamailio() throws {
        let cfg = try String(contentsOf: Self.fixtures.appendingPathComponent("differential.cfg"), encoding: .utf8)
        let d = try DaemonProcess(config: cfg, waitForUDP: false)
        defer { d.stop() }
        let peer = try UDPPeer()
        // one send: the script counts calls ($shtinc, $var), so a retry would shift values
        peer.send(try Self.request(clientPort: peer.port), to: "127.0.0.1", port: d.port)
        let reply = try #require(peer.receive(timeout: 5), "no reply; log:\n\(d.log)")
        let got = reply.components(separatedBy: "\r\n").filter { $0.hasPrefix("X-R-") }
        let want = try Self.expected()
        #expect(want.count > 80)
        let gotByName = Dictionary(got.map { (String($0.prefix { $0 != ":" }), $0) }, uniquingKeysWith: { a, _ in a })
        for line in want {
            let name = String(line.prefix { $0 != ":" })
            #expect(gotByName[name] == line, "\(name)")
        }
        #expect(got.count == want.count, "log:\n\(d.log)")
    }
}
