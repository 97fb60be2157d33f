import SIPCore

/// Message reads shared by the core pseudo-variables. Everything returns `.null` when
/// the part is absent or unparsable, which the comparisons treat as "" and 0.
enum ScriptMessageAccess {
    /// A slice as a string value, null when absent.
    static func slice(_ s: ArraySlice<UInt8>?) -> ScriptValue {
        guard let s else { return .null }
        return .str(Array(s))
    }

    /// `$rm`: the method of a request, the CSeq method of a reply.
    static func method(_ ctx: ScriptContext) -> ScriptValue {
        if ctx.message.isRequest { return .str(Array(ctx.message.methodBytes)) }
        return slice((try? ctx.message.cseq())?.method)
    }

    /// Which part of a From/To header a variable reads.
    enum AddressPart {
        case uri, user, host, tag, displayName
    }

    /// `$fu`, `$tU`, ...: a part of the From or To header.
    static func address(_ ctx: ScriptContext, to: Bool, _ part: AddressPart) -> ScriptValue {
        guard let na = try? (to ? ctx.message.to() : ctx.message.from()) else { return .null }
        switch part {
        case .uri: return .str(Array(na.uri.raw))
        case .user: return slice(na.uri.user)
        case .host: return slice(na.uri.host?.text)
        case .tag: return slice(na.tag)
        case .displayName: return slice(na.displayNameRaw)
        }
    }

    /// Records an edit of a From/To part (`$fU = "x"`). Like Kamailio's lumps, the edit
    /// shows in the sent message but not in later reads of the same message.
    static func setAddress(_ ctx: ScriptContext, to: Bool, _ part: AddressPart, _ value: ScriptValue) {
        let msg = ctx.message
        guard let na = try? (to ? msg.to() : msg.from()) else { return }
        let v = value.bytes
        switch part {
        case .uri:
            guard !v.isEmpty else { return }
            msg.edits.replace(na.uri.raw.startIndex..<na.uri.raw.endIndex, with: v)
        case .user:
            if let user = na.uri.user {
                // an empty value removes "user@" (and a password with it)
                var end = user.endIndex
                if v.isEmpty {
                    while end < na.uri.raw.endIndex, msg.bytes[end] != UInt8(ascii: "@") { end += 1 }
                    end = min(end + 1, na.uri.raw.endIndex)
                }
                msg.edits.replace(user.startIndex..<end, with: v)
            } else if !v.isEmpty {
                msg.edits.insert(v + [UInt8(ascii: "@")], at: na.uri.schemeBytes.endIndex + 1)
            }
        case .host:
            guard let host = na.uri.host, !v.isEmpty else { return }
            msg.edits.replace(host.text.startIndex..<host.text.endIndex, with: v)
        case .displayName:
            if let d = na.displayNameRaw {
                msg.edits.replace(d.startIndex..<d.endIndex, with: v)
            } else if na.hasAngleBrackets, !v.isEmpty {
                msg.edits.insert(v + [UInt8(ascii: " ")], at: na.range.lowerBound)
            }
        case .tag:
            return
        }
    }

    /// Which part of the current Request-URI a variable reads.
    enum URIPart {
        case user, host, port, scheme, transport
    }

    /// `$rU`, `$rd`, `$rp`, `$rz`: a part of the current R-URI.
    static func requestURI(_ ctx: ScriptContext, _ part: URIPart) -> ScriptValue {
        guard let uri = ctx.requestURI else { return .null }
        switch part {
        case .user:
            // with user=phone Kamailio cuts the user at the first ';' (visual separators stay)
            guard let user = uri.user else { return .null }
            if uri.isPhoneUser, let semi = user.firstIndex(of: UInt8(ascii: ";")) { return .str(Array(user[..<semi])) }
            return .str(Array(user))
        case .host: return slice(uri.host?.text)
        // Kamailio's $rp gives 5060 when the URI has no port
        case .port: return .int(Int32(uri.port ?? 5060))
        case .scheme: return uri.isPhoneUser ? .string("tel") : .str(Array(uri.schemeBytes))
        // $rP keeps the case written in ;transport= and defaults to UDP
        case .transport: return uri.transport.map { .str(Array($0)) } ?? .string("UDP")
        }
    }

    /// Replaces (or removes, for an empty value) the user part of the current R-URI.
    static func setRequestUser(_ ctx: ScriptContext, _ user: [UInt8]) {
        guard let uri = ctx.requestURI else { return }
        let src = Array(uri.raw)
        let base = uri.raw.startIndex
        var out: [UInt8]
        if let u = uri.user {
            let lo = u.startIndex - base
            var hi = u.endIndex - base
            if user.isEmpty {
                // drop "user[:password]@" entirely
                while hi < src.count, src[hi] != UInt8(ascii: "@") { hi += 1 }
                out = Array(src[..<lo]) + Array(src[min(hi + 1, src.count)...])
            } else {
                out = Array(src[..<lo]) + user + Array(src[hi...])
            }
        } else {
            guard !user.isEmpty else { return }
            let at = uri.schemeBytes.endIndex - base + 1
            out = Array(src[..<at]) + user + [UInt8(ascii: "@")] + Array(src[at...])
        }
        ctx.setRequestURI(out)
    }

    /// Replaces the host part of the current R-URI.
    static func setRequestHost(_ ctx: ScriptContext, _ host: [UInt8]) {
        guard let uri = ctx.requestURI, let h = uri.host else { return }
        let src = Array(uri.raw)
        let base = uri.raw.startIndex
        ctx.setRequestURI(Array(src[..<(h.text.startIndex - base)]) + host + Array(src[(h.text.endIndex - base)...]))
    }

    /// `$hdr(name)`: the value of the first (or the indexed) header with that name;
    /// `[*]` joins all values with commas.
    static func header(_ ctx: ScriptContext, name: [UInt8], kind: SIPHeaderKind, index: ScriptHeaderIndex) -> ScriptValue {
        let fields = kind == .other ? ctx.message.headers(named: name) : ctx.message.headers(kind)
        switch index {
        case .first:
            guard let f = fields.first else { return .null }
            return .str(ctx.message.unfoldedValue(of: f))
        case .all:
            guard !fields.isEmpty else { return .null }
            var out: [UInt8] = []
            for (i, f) in fields.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += ctx.message.unfoldedValue(of: f)
            }
            return .str(out)
        case .fixed(let i):
            return headerAt(ctx, fields, i)
        case .dynamic(let pv):
            return headerAt(ctx, fields, Int(pv.get(ctx).intValue))
        }
    }

    private static func headerAt(_ ctx: ScriptContext, _ fields: [SIPHeaderField], _ i: Int) -> ScriptValue {
        let k = i < 0 ? fields.count + i : i
        guard k >= 0, k < fields.count else { return .null }
        return .str(ctx.message.unfoldedValue(of: fields[k]))
    }
}

/// How a `$hdr` occurrence picks among several header lines.
enum ScriptHeaderIndex: Sendable {
    // no index, [*], [n], [$pv]
    case first
    case all
    case fixed(Int)
    case dynamic(ScriptCompiledPV)
}
