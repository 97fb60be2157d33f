import SIPCore
import ScriptEngine

/// tm's pseudo-variables, as Kamailio's tm and tmx have them: `$T_reply_code`,
/// `$T_reply_reason`, `$T_branch_idx`, `$T_req(pv)`, `$T_rpl(pv)` and `$T(key)`.
extension TMModule {
    /// The reply the current route is about: in onreply_route the message itself, in
    /// failure_route the winning branch's reply (nil when it is a local 408/487).
    func currentReply(_ ctx: ScriptContext) -> SIPMessage? {
        if !ctx.message.isRequest { return ctx.message }
        guard ctx.routeType == .failure, let bytes = ctx.tm.replyBytes else { return nil }
        return try? SIPMessage(bytes: bytes)
    }

    /// The reply code of the current route (0: none).
    func currentReplyCode(_ ctx: ScriptContext) -> Int {
        ctx.message.isRequest ? ctx.tm.replyCode : ctx.message.statusCode
    }

    /// The reason phrase of the current reply, or of the local one failure_route stands for.
    func currentReplyReason(_ ctx: ScriptContext) -> ScriptValue {
        if let r = currentReply(ctx) { return .str(Array(r.reasonPhrase)) }
        switch ctx.tm.replyCode {
        case 408: return .string("Request Timeout")
        case 487: return .string("Request Terminated")
        default: return .null
        }
    }

    /// Evaluates `format` (one pseudo-variable) over `msg` as a request or reply of `ctx`'s
    /// transaction.
    static func evaluate(_ format: ScriptFormat, over msg: SIPMessage, like ctx: ScriptContext, cell: TMCell) -> ScriptValue {
        let other = ScriptContext(message: msg, receive: cell.info, worker: ctx.worker, services: ctx.services,
                                  routeType: ctx.routeType)
        other.flags = ctx.flags
        return .str(format.render(other))
    }

    /// tm's pseudo-variables.
    public var pseudoVariables: [ScriptPVDefinition] {
        @Sendable func inner(_ spec: ScriptPVSpec, _ f: ScriptFixupContext) throws(ScriptError) -> ScriptFormat {
            guard let arg = spec.argument, arg.hasPrefix("$") else {
                throw f.error("$\(spec.name) needs a pseudo-variable as argument, like $\(spec.name)($hdr(From))")
            }
            return try f.compileFormat(arg)
        }
        return [
            ScriptPVDefinition("T_reply_code") { _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { [self] ctx in
                    let c = currentReplyCode(ctx)
                    return c > 0 ? .int(Int32(c)) : .null
                })
            },
            ScriptPVDefinition("T_reply_reason") { _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { [self] ctx in currentReplyReason(ctx) })
            },
            // The usrloc ruid of the branch a reply is about (registrar lookup and
            // t_load_contacts give branches theirs): in onreply_route the replying
            // branch's, in failure_route the winning one's; elsewhere an error, as in tmx.
            ScriptPVDefinition("T_reply_ruid") { _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { [self] ctx in
                    let s = ctx.tm
                    guard ctx.routeType == .failure || ctx.routeType == .onreply else {
                        runtime.log(.error, "tmx", "$T_reply_ruid: unsupported route type \(ctx.routeType.rawValue)")
                        return .null
                    }
                    guard let cell = s.cell else { return .null }
                    let i = ctx.routeType == .failure ? s.pickedBranch : s.branchIndex
                    let ruid = withCell(cell, locked: s.cellLocked) { cell.branches.indices.contains(i) ? cell.branches[i].ruid : nil }
                    return ruid.map { .str($0) } ?? .null
                })
            },
            ScriptPVDefinition("T_branch_idx") { _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { ctx in .int(Int32(ctx.tm.branchIndex)) })
            },
            // The transaction's request: the current message where it is the request
            // (request, branch and failure routes), the stored one in onreply_route.
            ScriptPVDefinition("T_req") { spec, f throws(ScriptError) in
                let format = try inner(spec, f)
                return ScriptPVAccessor(get: { ctx in
                    guard let cell = ctx.tm.cell else { return .null }
                    if ctx.message.isRequest { return .str(format.render(ctx)) }
                    guard let req = try? SIPMessage(bytes: cell.request) else { return .null }
                    return Self.evaluate(format, over: req, like: ctx, cell: cell)
                })
            },
            // The reply: in onreply_route the one being handled, in failure_route the
            // winning branch's (null when tm generated it).
            ScriptPVDefinition("T_rpl") { spec, f throws(ScriptError) in
                let format = try inner(spec, f)
                return ScriptPVAccessor(get: { [self] ctx in
                    guard let cell = ctx.tm.cell, let reply = currentReply(ctx) else { return .null }
                    if reply === ctx.message { return .str(format.render(ctx)) }
                    return Self.evaluate(format, over: reply, like: ctx, cell: cell)
                })
            },
            ScriptPVDefinition("T") { [self] spec, f throws(ScriptError) in
                let key = spec.argument ?? ""
                guard let read = transactionAttribute(key) else {
                    throw f.error("unknown $T key '\(key)' (id_index, id_label, id_index_n, id_label_n, reply_code, "
                                  + "reply_reason, reply_last, reply_type, branch_index, flags, ruid)")
                }
                return ScriptPVAccessor(get: read)
            },
        ]
    }

    /// The reader of one `$T(key)` (tmx); nil for an unknown key.
    func transactionAttribute(_ key: String) -> (@Sendable (ScriptContext) -> ScriptValue)? {
        let bits = UInt64(TMTable.bucketBits)
        let mask = UInt64(table.count - 1)
        switch key {
        case "id_index", "id_label", "id_index_n", "id_label_n", "ruid":
            // Kamailio 5.6.3's tmx has no reader behind "ruid": it falls through to the
            // label, which is what scripts see there (the branch's ruid is $T_reply_ruid).
            let label = key.hasPrefix("id_label") || key == "ruid"
            let create = key.hasSuffix("_n")
            return { [self] ctx in
                var cell = ctx.tm.cell
                // the _n forms create the transaction in request_route when there is none
                if cell == nil, create, ctx.routeType == .request, case .created(let c) = lookupOrCreate(ctx) { cell = c }
                guard let cell else { return .null }
                return .int(Int32(truncatingIfNeeded: label ? cell.id >> bits : cell.id & mask))
            }
        case "reply_code":
            return { [self] ctx in
                let c = currentReplyCode(ctx)
                return c > 0 ? .int(Int32(c)) : .null
            }
        case "reply_reason":
            return { [self] ctx in currentReplyReason(ctx) }
        case "reply_last":
            return { ctx in
                guard let cell = ctx.tm.cell else { return .null }
                let c = cell.lastReceivedCode
                return c > 0 ? .int(Int32(c)) : .null
            }
        case "reply_type":
            // 1: the reply is tm's own (a 408 or 487 in failure_route), 0: received
            return { ctx in
                guard ctx.tm.cell != nil else { return .null }
                return .int(ctx.message.isRequest && ctx.tm.replyBytes == nil ? 1 : 0)
            }
        case "branch_index":
            return { ctx in .int(Int32(ctx.tm.branchIndex)) }
        case "flags":
            return { [self] ctx in
                guard let cell = ctx.tm.cell else { return .null }
                let canceled = withCell(cell, locked: ctx.tm.cellLocked) { cell.canceled }
                return .int(Int32(transactionFlags(cell, canceled: canceled)))
            }
        default:
            return nil
        }
    }
}
