#if canImport(Glibc)
import Glibc
#endif
import SIPCore
import ScriptEngine
import Synchronization

/// A refused REGISTER: the reply sent and, for 423, the Min-Expires value (§10.3 step 7).
struct RegistrarError: Error {
    var code: Int
    var reason: String
    var minExpires: Int?

    /// True when the reply lists the current bindings, as Kamailio's does for errors
    /// found after the bindings were looked at (CSeq order, contact limit).
    var listsBindings = false

    // Kamailio 5.6 answers with the standard reason phrases; the cause goes to the log.
    static let badTo = RegistrarError(code: 400, reason: "Bad Request")
    static let badContact = RegistrarError(code: 400, reason: "Bad Request")
    static let starExpires = RegistrarError(code: 400, reason: "Bad Request")
    static let badCSeq = RegistrarError(code: 400, reason: "Bad Request", listsBindings: true)
    static let badCallID = RegistrarError(code: 400, reason: "Bad Request")
    static let tooMany = RegistrarError(code: 503, reason: "Service Unavailable", listsBindings: true)
    static let tooLong = RegistrarError(code: 400, reason: "Bad Request")
}

/// Process-wide ruid counter: unique ids for `location.ruid` (with start time and pid).
enum RegistrarRUID {
    static let counter = Atomic<UInt64>(0)
    static let prefix: String = {
        "uloc-\(String(UInt32(truncatingIfNeeded: time(nil)), radix: 16))-\(String(getpid(), radix: 16))-"
    }()

    static func next() -> String {
        prefix + String(counter.wrappingAdd(1, ordering: .relaxed).newValue)
    }
}

extension RegistrarModule {
    /// save flag 0x02: do not send the reply (the script does).
    static let flagNoReply = 0x02
    /// save flag 0x04: keep only the contacts of this REGISTER (replace all bindings).
    static let flagReplaceAll = 0x04
    /// Longest contact URI stored (the `location.contact` column is VARCHAR(512)).
    static let maxContactLength = 512

    /// `save(table[, flags[, uri]])`: RFC 3261 §10.3 steps 6-8 (the script has done
    /// steps 1-5: domain, Require, authentication, authorisation). Replies itself unless
    /// flag 0x02. 1 on success, -1 on error (with the error reply sent).
    func save(_ ctx: ScriptContext, table: UsrlocTable, flags: Int, aorURI: String?) -> Int32 {
        let now = UsrlocModule.now()
        let msg = ctx.message
        let s = settings(ctx)
        do throws(RegistrarError) {
            let aor = try registerAoR(msg, aorURI: aorURI)
            guard let callIDBytes = msg.callID, !callIDBytes.isEmpty else { throw RegistrarError.badCallID }
            guard let cseq = try? msg.cseq() else { throw RegistrarError.badCSeq }
            let contacts: SIPContactList?
            do { contacts = try msg.contacts() } catch { throw RegistrarError.badContact }
            let headerExpires: Int?
            do { headerExpires = try msg.expires() } catch { throw RegistrarError(code: 400, reason: "Bad Request") }
            let stored: [UsrlocContact]
            switch contacts {
            case nil:
                // §10.3 step 6 / §10.2.3: no Contact is a query for the current bindings.
                stored = table.contacts(of: aor, now: now)
            case .star:
                // §10.2.2: `*` only with Expires: 0, and it removes every binding.
                guard headerExpires == 0 else { throw RegistrarError.starExpires }
                table.update(aor) { list in
                    let gone = list.map { UsrlocChange.delete(ruid: $0.ruid) }
                    list.removeAll()
                    return ((), gone)
                }
                stored = []
            case .list(let addresses):
                let wanted = try addresses.map { a throws(RegistrarError) in
                    try binding(a, headerExpires: headerExpires, settings: s)
                }
                let callID = SIPBytes.string(callIDBytes)
                let base = UsrlocContact(ruid: "", aor: aor, contact: "", path: s.usePath ? pathValue(msg) : nil,
                                         expires: 0, callID: callID, cseq: Int(cseq.number),
                                         userAgent: msg.userAgent.map(SIPBytes.string) ?? "",
                                         socket: socketText(ctx), lastModified: now)
                let outcome: Result<[UsrlocContact], RegistrarError> = table.update(aor) { list in
                    do throws(RegistrarError) {
                        let (after, changes) = try apply(wanted, to: &list, base: base, flags: flags,
                                                         maxContacts: s.maxContacts, now: now)
                        return (.success(after), changes)
                    } catch {
                        return (.failure(error), [])
                    }
                }
                stored = try outcome.get()
            }
            usrloc.registrarStats.accepted.wrappingAdd(1, ordering: .relaxed)
            if flags & Self.flagNoReply == 0 {
                var headers = contactHeaders(sortedForLookup(stored, ctx), now: now)
                if s.usePath, let path = pathValue(msg) { headers.append(Array("Path: \(path)".utf8)) }
                _ = reply(ctx, code: 200, reason: "OK", headers: headers)
            }
            return 1
        } catch {
            usrloc.registrarStats.rejected.wrappingAdd(1, ordering: .relaxed)
            ctx.core.lastError = (error.code, error.reason)
            if flags & Self.flagNoReply == 0 {
                var headers: [[UInt8]] = []
                if error.listsBindings, let aor = try? registerAoR(msg, aorURI: aorURI) {
                    headers += contactHeaders(sortedForLookup(table.contacts(of: aor, now: now), ctx), now: now)
                }
                if let m = error.minExpires { headers.append(Array("Min-Expires: \(m)".utf8)) }
                _ = reply(ctx, code: error.code, reason: error.reason, headers: headers)
            }
            return -1
        }
    }

    /// The AoR of a REGISTER: the To URI (§10.3 step 5), or the `uri` argument.
    private func registerAoR(_ msg: SIPMessage, aorURI: String?) throws(RegistrarError) -> String {
        if let aorURI, !aorURI.isEmpty {
            guard let a = aor(of: Array(aorURI.utf8)) else { throw RegistrarError.badTo }
            return a
        }
        guard let to = try? msg.to(), let a = aor(of: to.uri) else { throw RegistrarError.badTo }
        return a
    }

    /// One Contact of the request turned into what should be stored: URI, expires
    /// (contact parameter, else Expires header, else default_expires: §10.2.1.1),
    /// q and the RFC 5626 instance / reg-id.
    private func binding(_ a: SIPNameAddr, headerExpires: Int?,
                         settings s: Settings) throws(RegistrarError) -> (uri: String, expires: Int, q: Int,
                                                                          instance: String?, regID: Int) {
        let uri = SIPBytes.string(a.uri.raw)
        guard uri.utf8.count <= Self.maxContactLength else { throw RegistrarError.tooLong }
        var expires = a.expires ?? headerExpires ?? s.defaultExpires
        // A value beyond 32 bits is not a valid delta-seconds: default_expires, like Kamailio.
        if expires >= Int(UInt32.max) { expires = s.defaultExpires }
        if expires != 0 {
            // §10.3 step 7: too brief -> raised (or 423 with Min-Expires); too long -> shortened.
            if expires < s.minExpires {
                guard s.minExpiresMode == 0 else {
                    throw RegistrarError(code: 423, reason: "Interval Too Brief", minExpires: s.minExpires)
                }
                expires = s.minExpires
            }
            if s.maxExpires > 0, expires > s.maxExpires { expires = s.maxExpires }
        }
        var q = -1
        if let qText = a.q {
            guard let v = UsrlocContact.parseQ(qText) else { throw RegistrarError(code: 400, reason: "Bad q value") }
            q = v
        }
        let instance = a.params.first(named: "+sip.instance")?.value.map(SIPBytes.string)
        let regID = a.params.first(named: "reg-id")?.value.flatMap { SIPBytes.parseUInt($0, max: 1 << 31) }.map { Int($0) } ?? 0
        return (uri, expires, q, instance, regID)
    }

    /// §10.3 step 7 on one AoR's bindings (the slot lock is held). All-or-nothing: on an
    /// error the list is left as it was. Returns the bindings after the update.
    private func apply(_ wanted: [(uri: String, expires: Int, q: Int, instance: String?, regID: Int)],
                       to list: inout [UsrlocContact], base: UsrlocContact, flags: Int, maxContacts: Int,
                       now: Int) throws(RegistrarError) -> ([UsrlocContact], [UsrlocChange]) {
        var slots: [UsrlocContact?] = list.filter { !$0.isExpired(at: now) }
        var changes: [UsrlocChange] = list.filter { $0.isExpired(at: now) }.map { .delete(ruid: $0.ruid) }
        // Index by contact URI so a REGISTER with thousands of contacts stays linear.
        var index: [String: Int] = [:]
        for (i, c) in slots.enumerated() { if let c { index[c.contact] = i } }
        var touched = Set<String>()
        for w in wanted {
            if let i = index[w.uri], let old = slots[i] {
                // Same Call-ID with a lower CSeq: out of order (§10.3 step 7). An equal
                // CSeq is accepted, as Kamailio does (a retransmission refreshes).
                if !touched.contains(w.uri), old.callID == base.callID, base.cseq < old.cseq {
                    throw RegistrarError.badCSeq
                }
                if w.expires == 0 {
                    changes.append(.delete(ruid: old.ruid))
                    slots[i] = nil
                    index[w.uri] = nil
                } else {
                    var c = base
                    c.ruid = old.ruid
                    c.contact = w.uri
                    c.expires = now + w.expires
                    c.q = w.q
                    c.instance = w.instance
                    c.regID = w.regID
                    slots[i] = c
                    changes.append(.upsert(c))
                }
            } else if w.expires != 0 {
                var c = base
                c.ruid = RegistrarRUID.next()
                c.contact = w.uri
                c.expires = now + w.expires
                c.q = w.q
                c.instance = w.instance
                c.regID = w.regID
                index[w.uri] = slots.count
                slots.append(c)
                changes.append(.upsert(c))
            }
            touched.insert(w.uri)
        }
        var next = slots.compactMap { $0 }
        if flags & Self.flagReplaceAll != 0 {
            let keep = Set(wanted.filter { $0.expires != 0 }.map(\.uri))
            for c in next where !keep.contains(c.contact) { changes.append(.delete(ruid: c.ruid)) }
            next.removeAll { !keep.contains($0.contact) }
        }
        if maxContacts > 0, next.count > maxContacts { throw RegistrarError.tooMany }
        list = next
        return (next, changes)
    }

    /// The Path header values of a REGISTER (RFC 3327 §5.3: stored with the binding and
    /// echoed in the 200), joined by `,`; nil when there is none.
    func pathValue(_ msg: SIPMessage) -> String? {
        let fields = msg.headers(named: "Path")
        guard !fields.isEmpty else { return nil }
        return fields.map { SIPBytes.string(msg.bytes[$0.value]) }.joined(separator: ",")
    }

    /// `udp:127.0.0.1:5060` for the socket the request came in on, built once per
    /// listener (the text is the same for every REGISTER on it).
    private func socketText(_ ctx: ScriptContext) -> String {
        let r = ctx.receive
        let i = r.listenerIndex
        if i >= 0, let cached = socketNames.withLock({ i < $0.count ? $0[i] : nil }) { return cached }
        let text = "\(r.proto.name):\(r.local.hostString):\(r.local.port)"
        if i >= 0 && i < 1024 {
            socketNames.withLock { names in
                while names.count <= i { names.append(nil) }
                names[i] = text
            }
        }
        return text
    }

    /// One `Contact:` header listing every binding with its remaining time (§10.3 step 8).
    func contactHeaders(_ list: [UsrlocContact], now: Int) -> [[UInt8]] {
        guard !list.isEmpty else { return [] }
        var line = Array("Contact: ".utf8)
        for (i, c) in list.enumerated() {
            if i > 0 { line += Array(", ".utf8) }
            line.append(SIPASCII.laquot)
            line += Array(c.contact.utf8)
            line.append(SIPASCII.raquot)
            if let q = c.qText { line += Array(";q=\(q)".utf8) }
            line += Array(";expires=".utf8)
            SIPBytes.appendDecimal(c.remaining(at: now), to: &line)
        }
        return [line]
    }

    /// Sends a stateless reply with extra header lines (after any `append_to_reply` ones).
    func reply(_ ctx: ScriptContext, code: Int, reason: String, headers: [[UInt8]]) -> Int32 {
        let state = ctx.core
        let saved = state.replyHeaders
        state.replyHeaders += headers
        defer { state.replyHeaders = saved }
        return sl.reply(ctx, code: code, reason: reason)
    }

    /// `lookup(table[, uri])`: the R-URI becomes the best contact, the rest become
    /// branches (RFC 3261 §16.5/§16.6). 1 found; -1 none; -2 none allows the method;
    /// -3 bad URI.
    func lookup(_ ctx: ScriptContext, table: UsrlocTable, uri: [UInt8]?) -> Int32 {
        guard let aor = aor(of: uri ?? ctx.requestURIBytes) else { return -3 }
        var list = sortedForLookup(table.contacts(of: aor, now: UsrlocModule.now()), ctx)
        guard !list.isEmpty else { return -1 }
        let s = settings(ctx)
        if s.methodFiltering, let bit = Self.methodBit(ctx.message.method) {
            list.removeAll { ($0.methods ?? -1) != -1 && ($0.methods ?? 0) & bit == 0 }
            if list.isEmpty { return -2 }
        }
        let first = list[0]
        ctx.setRequestURI(Array(first.contact.utf8))
        ctx.tm.ruid = first.ruid.isEmpty ? nil : Array(first.ruid.utf8)
        // As Kamailio: requests to a contact leave on the socket it registered through.
        let socket = runtime.listenerIndex(socketText: first.socket)
        if socket >= 0 { ctx.core.forcedSocket = socket }
        if let hop = Self.firstPathHop(first.path) {
            ctx.destinationURI = Array(hop.utf8)
            if let path = first.path { ctx.message.addHeader("Route: \(path)") }
        } else if let received = first.received {
            ctx.destinationURI = Array(received.utf8)
        }
        if s.appendBranches {
            // The other contacts become tm branches: t_relay() forks to all of them
            // (parallel search, RFC 3261 §16.6). A branch's Path only sets where it goes
            // first; its Route headers are not added (tm builds branches from the request).
            for c in list.dropFirst() {
                ctx.tm.branches.append(TMBranchTarget(uri: Array(c.contact.utf8),
                                                      destination: (Self.firstPathHop(c.path) ?? c.received).map { Array($0.utf8) },
                                                      q: c.q < 0 ? 1000 : c.q, socket: runtime.listenerIndex(socketText: c.socket),
                                                      ruid: c.ruid.isEmpty ? nil : Array(c.ruid.utf8)))
            }
        }
        return 1
    }

    /// `lookup_branches(table)`: `lookup` for the R-URI, then every branch whose URI is a
    /// registered AoR is replaced by that AoR's contacts; other branches stay as they are.
    func lookupBranches(_ ctx: ScriptContext, table: UsrlocTable) -> Int32 {
        let existing = ctx.tm.branches
        ctx.tm.branches = []
        var found = lookup(ctx, table: table, uri: nil) == 1
        let now = UsrlocModule.now()
        for b in existing {
            guard let aor = aor(of: b.uri) else { ctx.tm.branches.append(b); continue }
            let contacts = sortedForLookup(table.contacts(of: aor, now: now), ctx)
            if contacts.isEmpty {
                ctx.tm.branches.append(b)
                continue
            }
            found = true
            for c in contacts {
                ctx.tm.branches.append(TMBranchTarget(uri: Array(c.contact.utf8),
                                                      destination: (Self.firstPathHop(c.path) ?? c.received).map { Array($0.utf8) },
                                                      q: c.q < 0 ? 1000 : c.q, socket: runtime.listenerIndex(socketText: c.socket),
                                                      ruid: c.ruid.isEmpty ? nil : Array(c.ruid.utf8)))
            }
        }
        return found ? 1 : -1
    }

    /// The URI of the first Path entry (`<sip:p1;lr>,<sip:p2;lr>` -> `sip:p1;lr`).
    static func firstPathHop(_ path: String?) -> String? {
        guard let path, let open = path.firstIndex(of: "<"), let close = path[open...].firstIndex(of: ">") else { return nil }
        return String(path[path.index(after: open)..<close])
    }

    /// Kamailio's METHOD_* bit of a method (contact `methods` masks).
    static func methodBit(_ m: SIPMethod) -> Int? {
        switch m {
        case .invite: return 1
        case .cancel: return 2
        case .ack: return 4
        case .bye: return 8
        case .info: return 16
        case .options: return 32
        case .update: return 64
        case .register: return 128
        case .message: return 256
        case .subscribe: return 512
        case .notify: return 1024
        case .prack: return 2048
        case .refer: return 4096
        case .publish: return 8192
        default: return nil
        }
    }
}

/// `$ulc(profile=>attr)` and `$(ulc(profile=>attr)[i])`: fields of the contacts
/// `reg_fetch_contacts` loaded (`aor`, `count`, `addr`, `expires`, `q`, `callid`,
/// `cseq`, `path`, `received`, `user_agent`, `socket`, `ruid`, `instance`, `reg_id`).
enum RegistrarPV {
    static let ulc = ScriptPVDefinition("ulc") { spec, f throws(ScriptError) in
        let text = spec.argument ?? ""
        guard let sep = text.range(of: "=>") else {
            throw f.error("$ulc needs profile=>attribute, found '\(text)'")
        }
        let profile = String(text[..<sep.lowerBound])
        let attr = String(text[sep.upperBound...])
        let known = ["aor", "count", "addr", "expires", "q", "callid", "cseq", "path", "received", "user_agent",
                     "socket", "ruid", "instance", "reg_id", "flags", "cflags", "methods", "modified"]
        guard known.contains(attr) else { throw f.error("$ulc: unknown attribute '\(attr)'") }
        // A constant index only; `[*]` and variable indexes read the first contact.
        var constantIndex = 0
        if case .int(let i) = spec.index { constantIndex = i }
        let index = constantIndex
        return ScriptPVAccessor(get: { ctx in
            guard let set = ctx.registrarState.fetched[profile] else { return .null }
            if attr == "aor" { return .string(set.aor) }
            if attr == "count" { return .int(Int32(clamping: set.contacts.count)) }
            let i = index < 0 ? set.contacts.count + index : index
            guard i >= 0, i < set.contacts.count else { return .null }
            let c = set.contacts[i]
            let now = UsrlocModule.now()
            func s(_ v: String?) -> ScriptValue { v.map { .string($0) } ?? .null }
            switch attr {
            case "addr": return s(c.contact)
            case "expires": return .int(Int32(clamping: c.remaining(at: now)))
            case "q": return .int(Int32(c.q))
            case "callid": return s(c.callID)
            case "cseq": return .int(Int32(clamping: c.cseq))
            case "path": return s(c.path)
            case "received": return s(c.received)
            case "user_agent": return s(c.userAgent)
            case "socket": return s(c.socket)
            case "ruid": return s(c.ruid)
            case "instance": return s(c.instance)
            case "reg_id": return .int(Int32(clamping: c.regID))
            case "flags": return .int(Int32(clamping: c.flags))
            case "cflags": return .int(Int32(clamping: c.cflags))
            case "methods": return .int(Int32(clamping: c.methods ?? -1))
            default: return .int(Int32(clamping: c.lastModified))
            }
        })
    }
}
