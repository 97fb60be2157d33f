import Testing
import SIPTransport
@testable import BuiltinModules

@Suite("core: socket names of force_send_socket, set_send_socket and $fs")
struct CoreSendSocketTests {
    @Test("[proto:]host[:port] parses with IPv6 in brackets; a missing transport or port means any")
    func parsing() {
        func spec(_ s: String) -> String? {
            CoreSocketSpec.parse(s).map { "\($0.proto?.name ?? "*")|\($0.host)|\($0.port)" }
        }
        #expect(spec("udp:127.0.0.2:5060") == "udp|127.0.0.2|5060")
        #expect(spec("127.0.0.2") == "*|127.0.0.2|0")
        #expect(spec("127.0.0.2:5070") == "*|127.0.0.2|5070")
        #expect(spec("tcp:[::1]:5060") == "tcp|::1|5060")
        #expect(spec("[::1]") == "*|::1|0")
        #expect(spec("tls:::1") == "tls|::1|0")
        #expect(spec("udp:[::1") == nil)
        #expect(spec("udp:1.2.3.4:x") == nil)
        #expect(spec("udp:") == nil)
    }

    @Test("a listen socket matches by transport, address and port, each optional in the name; a wildcard listener by family")
    func matching() throws {
        let a = try #require(SocketAddress(ip: "127.0.0.2", port: 5060))
        let any = try #require(SocketAddress(ip: "0.0.0.0", port: 5060))
        let want = try #require(SocketAddress(ip: "127.0.0.2", port: 0))
        let six = try #require(SocketAddress(ip: "::1", port: 5060))
        #expect(CoreSocketSpec(proto: .udp, host: "127.0.0.2", port: 5060).matches(proto: .udp, address: a, wanted: want))
        #expect(!CoreSocketSpec(proto: .tcp, host: "127.0.0.2", port: 5060).matches(proto: .udp, address: a, wanted: want))
        #expect(!CoreSocketSpec(proto: nil, host: "127.0.0.2", port: 5070).matches(proto: .udp, address: a, wanted: want))
        #expect(CoreSocketSpec(proto: nil, host: "127.0.0.2", port: 0).matches(proto: .tcp, address: a, wanted: want))
        #expect(CoreSocketSpec(proto: .udp, host: "127.0.0.2", port: 5060).matches(proto: .udp, address: any, wanted: want))
        #expect(!CoreSocketSpec(proto: .udp, host: "127.0.0.2", port: 5060).matches(proto: .udp, address: six, wanted: want))
    }

    @Test("the start-up check refuses an address no listen= line has, as Kamailio words it")
    func refusal() {
        let listens = [ListenSpec(proto: .udp, host: "127.0.0.1", port: 5060), ListenSpec(proto: .udp, host: "127.0.0.2", port: 5070)]
        #expect(CoreModule.refusal(CoreSocketSpec(proto: .udp, host: "127.0.0.2", port: 5070), listens: listens) == nil)
        #expect(CoreModule.refusal(CoreSocketSpec(proto: nil, host: "127.0.0.2", port: 0), listens: listens) == nil)
        #expect(CoreModule.refusal(CoreSocketSpec(proto: .tcp, host: "127.0.0.2", port: 5070), listens: listens)
                == "bad force_send_socket argument: 127.0.0.2:5070 (kamailiod doesn't listen on it)")
        #expect(CoreModule.refusal(CoreSocketSpec(proto: .udp, host: "127.0.0.3", port: 5060), listens: listens)
                == "bad force_send_socket argument: 127.0.0.3:5060 (kamailiod doesn't listen on it)")
        #expect(CoreModule.refusal(CoreSocketSpec(proto: .udp, host: "0.0.0.0", port: 1), listens: [ListenSpec(proto: .udp, host: "*", port: 0)]) == nil)
    }
}
