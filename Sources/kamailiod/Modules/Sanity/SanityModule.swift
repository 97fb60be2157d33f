import SIPCore
import ScriptEngine
import Synchronization

/// Message sanity checks (Kamailio's `sanity`). Check bits and URI bits follow Kamailio's
/// numbering so `modparam("sanity", "default_checks", N)` means the same here.
public final class SanityModule: ScriptModule {
    public let name = "sanity"
    let runtime: CoreRuntime
    let sl: SLModule
    /// cfg `sanity.*` (kamailiod's group; Kamailio has these as modparams only).
    let defaultChecks, uriChecks, autodrop: CfgIntKey
    /// `proxy_require`: extensions this server supports in Proxy-Require (none by default).
    let supported = Mutex<[[UInt8]]>([])

    /// Check bits (Kamailio's sanity module numbering).
    enum Check {
        static let ruriVersion = 1, ruriScheme = 2, requiredHeaders = 4, viaVersion = 8, viaProtocol = 16
        static let cseqMethod = 32, cseqValue = 64, contentLength = 128, expires = 256, proxyRequire = 512
        static let parseURIs = 1024, digest = 2048, duplicateTags = 4096, authorization = 8192, via1 = 16384
    }

    public init(runtime: CoreRuntime, sl: SLModule) {
        self.runtime = runtime
        self.sl = sl
        let c = runtime.cfg
        defaultChecks = c.declareInt("sanity", "default_checks", 999, "Checks done by sanity_check() without parameters (bit mask)")
        uriChecks = c.declareInt("sanity", "uri_checks", 7, "URIs checked by the URI check bit (bit mask)")
        autodrop = c.declareInt("sanity", "autodrop", 1, min: 0, max: 1, "1: a failed check stops the script")
    }

    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("default_checks", .int) { [self] v throws(ScriptFixupError) in runtime.cfg.setInitial(defaultChecks, Int(v.intValue)) },
            ScriptModuleParameter("uri_checks", .int) { [self] v throws(ScriptFixupError) in runtime.cfg.setInitial(uriChecks, Int(v.intValue)) },
            ScriptModuleParameter("autodrop", .int) { [self] v throws(ScriptFixupError) in runtime.cfg.setInitial(autodrop, Int(v.intValue)) },
            ScriptModuleParameter("noreply", .int) { _ throws(ScriptFixupError) in },
            ScriptModuleParameter("proxy_require", .string) { [self] v throws(ScriptFixupError) in
                let list = v.stringValue.split(separator: ",").map { Array($0.trimmedWS.lowercased().utf8) }
                supported.withLock { $0 = list }
            },
        ]
    }

    public var functions: [ScriptFunction] {
        [
            ScriptFunction("sanity_check", arity: 0...2, routes: [.request, .onreply],
                           fixup: { f throws(ScriptError) in
                               var out: [ScriptFixedArg] = []
                               for i in f.arguments.indices { out.append(.int(try f.fixupInt(i))) }
                               return ScriptFixedArgs(out)
                           }) { [self] ctx, args in
                let checks = args.count > 0 ? Int(ctx.int(args[0])) : defaultChecks(ctx)
                let uris = args.count > 1 ? Int(ctx.int(args[1])) : uriChecks(ctx)
                guard let failure = check(ctx.message, checks: checks, uriChecks: uris) else { return 1 }
                ctx.core.lastError = (failure.code, failure.reason)
                if runtime.logEnabled(.notice) {
                    runtime.log(.notice, "sanity", "\(failure.code) \(failure.reason) from \(ctx.receive.source)")
                }
                if ctx.message.isRequest, ctx.message.method != .ack {
                    ctx.core.replyHeaders += failure.headers
                    _ = sl.reply(ctx, code: failure.code, reason: failure.reason)
                }
                return autodrop(ctx) != 0 ? 0 : -1
            },
        ]
    }

    struct Failure {
        var code: Int
        var reason: String
        var headers: [[UInt8]] = []
    }

    /// The first failing check, or nil when the message passes.
    func check(_ msg: SIPMessage, checks: Int, uriChecks: Int) -> Failure? {
        func on(_ bit: Int) -> Bool { checks & bit != 0 }
        if msg.isRequest {
            if on(Check.ruriVersion), !version(ofRequestLine: msg) {
                return Failure(code: 505, reason: "Version Not Supported")
            }
            if on(Check.ruriScheme) {
                guard let uri = try? msg.requestURI else { return Failure(code: 400, reason: "Bad Request URI") }
                switch uri.scheme {
                case .sip, .sips, .tel: break
                default: return Failure(code: 416, reason: "Unsupported URI Scheme in Request URI")
                }
            }
        }
        // The structural checks share one pass in the parser; any of these bits asks for it.
        let structural = Check.requiredHeaders | Check.cseqMethod | Check.cseqValue | Check.contentLength
            | Check.expires | Check.duplicateTags | Check.via1 | Check.viaProtocol | Check.viaVersion
        if checks & structural != 0 {
            do {
                try msg.validateForProcessing()
            } catch {
                // Kamailio's sanity module answers with the bare reason
                // ("CSeq method does not match request method"), not "Bad Request - ...".
                return Failure(code: error.statusCode, reason: error.statusCode == 400 ? error.reason : error.replyReasonPhrase)
            }
        }
        if msg.isRequest, on(Check.proxyRequire) {
            let allowed = supported.withLock { $0 }
            var unsupported: [ArraySlice<UInt8>] = []
            for f in msg.headers(.proxyRequire) {
                for opt in (try? msg.commaSeparatedValues(of: f)) ?? [] {
                    let t = SIPBytes.trimLWS(opt)
                    if !allowed.contains(where: { SIPBytes.equalsIgnoringCase($0, t) }) { unsupported.append(t) }
                }
            }
            if !unsupported.isEmpty {
                var line = Array("Unsupported: ".utf8)
                for (i, u) in unsupported.enumerated() {
                    if i > 0 { line += Array(", ".utf8) }
                    line += u
                }
                return Failure(code: 420, reason: "Bad Extension", headers: [line])
            }
        }
        if msg.isRequest, on(Check.parseURIs) {
            if uriChecks & 1 != 0, (try? msg.requestURI) == nil { return Failure(code: 400, reason: "Bad Request URI") }
            if uriChecks & 2 != 0, (try? msg.from()) == nil { return Failure(code: 400, reason: "Bad From URI") }
            if uriChecks & 4 != 0, (try? msg.to()) == nil { return Failure(code: 400, reason: "Bad To URI") }
            if uriChecks & 8 != 0, msg.firstHeader(.contact) != nil, (try? msg.contacts()) == nil {
                return Failure(code: 400, reason: "Bad Contact URI")
            }
        }
        return nil
    }

    /// The request line ends in `SIP/2.0` (§7.1; the version is case-insensitive).
    func version(ofRequestLine msg: SIPMessage) -> Bool {
        let line = msg.bytes[msg.startLineRange]
        var end = line.endIndex
        while end > line.startIndex, line[end - 1] == 13 || line[end - 1] == 10 || line[end - 1] == 32 { end -= 1 }
        let v = line[line.startIndex..<end].suffix(7)
        return SIPBytes.equalsLower(v, "sip/2.0")
    }
}
