import Control
import SIPCore
import Shared

/// tm's transaction RPC methods as Kamailio 5.6.3 has them: `tm.list`, `tm.hash_stats`,
/// `tm.cancel`, `tm.reply`, `tm.reply_callid` and `tm.clean` (replies and fault texts as
/// captured in shared/spec/rpc-examples/tm.*.json).
extension TMModule {
    /// Kamailio's transaction flags, as `tm.list` shows them in `tflags`.
    enum TFlag {
        static let invite = 1
        static let local = 2
        static let canceled = 8
        static let autoInv100 = 64
    }

    /// The transaction methods (`tm.stats` is in TMStatisticsRPC.swift).
    func transactionRPCMethods() -> [RPCMethod] {
        [
            RPCMethod("tm.list", help: "List transactions.", returnsArray: true) { [self] call throws(RPCFault) in
                // One struct per hash bucket holding every transaction of that bucket, so
                // JSON shows repeated keys when two share a bucket, as Kamailio's does.
                for (bucket, cells) in table.cellsByBucket() {
                    let members = cells.flatMap { listMembers($0, bucket: bucket) }
                    if !members.isEmpty { call.add(.struct(members)) }
                }
            },
            RPCMethod("tm.hash_stats",
                      help: "Prints hash table statistics (can be used only if tm is compiled with -DTM_HASH_STATS).") { _ throws(RPCFault) in
                // Kamailio 5.6.3 as packaged is built without TM_HASH_STATS; clients see this.
                throw RPCFault(code: 500, message: "Hash statistics not supported (tryrecompiling with -DTM_HASH_STATS)")
            },
            RPCMethod("tm.cancel", help: "Cancel a pending transaction", signature: "<callid:s> <cseq:s>") { [self] call throws(RPCFault) in
                guard let callID = try? call.string(), let cseq = try? call.string() else {
                    throw RPCFault(code: 400, message: "Callid and CSeq expected as parameters")
                }
                guard let cell = inviteCell(callID: callID, cseq: cseq) else {
                    throw RPCFault(code: 400, message: "Transaction not found")
                }
                let waiting = cancelFromRPC(cell)
                call.add(.int(waiting))
                call.add(.string("branches remaining (waiting for timeout)"))
            },
            RPCMethod("tm.reply", help: "Reply transaction",
                      signature: "<code:i> <reason:s> <trans_id:s> <to_tag:s> [headers:s] [body:s]") { [self] call throws(RPCFault) in
                let (code, reason) = try replyCodeAndReason(call)
                guard let tid = try? call.string() else { throw RPCFault(code: 400, message: "Transaction ID expected") }
                guard let id = Self.parseTransactionID(tid, buckets: table.count) else {
                    throw RPCFault(code: 400, message: "Invalid transaction ID")
                }
                guard let toTag = try? call.string() else { throw RPCFault(code: 400, message: "To tag expected") }
                let headers = call.optionalString()
                let body = call.optionalString()
                guard let cell = table.cell(id), !cell.lock.withLock({ cell.removed }) else {
                    throw RPCFault(code: 481, message: "No such transaction")
                }
                guard replyFromRPC(cell, code: code, reason: reason, toTag: toTag, headers: headers, body: body) else {
                    throw RPCFault(code: 500, message: "Reply failed")
                }
            },
            RPCMethod("tm.reply_callid", help: "Reply transaction by call-id",
                      signature: "<code:i> <reason:s> <callid:s> <cseq:s> <to_tag:s> [headers:s] [body:s]") { [self] call throws(RPCFault) in
                let (code, reason) = try replyCodeAndReason(call)
                guard let callID = try? call.string() else { throw RPCFault(code: 400, message: "Call-ID expected") }
                guard let cseq = try? call.string() else { throw RPCFault(code: 400, message: "CSeq expected") }
                guard let toTag = try? call.string() else { throw RPCFault(code: 400, message: "To tag expected") }
                let headers = call.optionalString()
                let body = call.optionalString()
                guard let cell = inviteCell(callID: callID, cseq: cseq) else {
                    throw RPCFault(code: 404, message: "Transaction not found")
                }
                guard replyFromRPC(cell, code: code, reason: reason, toTag: toTag, headers: headers, body: body) else {
                    throw RPCFault(code: 500, message: "Reply failed")
                }
            },
            RPCMethod("tm.clean", help: "Clean expired (lifetime exceeded) transactions.") { [self] _ throws(RPCFault) in
                cleanExpired(now: now())
            },
        ]
    }

    /// The first two parameters of tm.reply / tm.reply_callid.
    private func replyCodeAndReason(_ call: RPCCall) throws(RPCFault) -> (Int, String) {
        guard let code = try? call.int() else { throw RPCFault(code: 400, message: "Reply code expected") }
        guard let reason = try? call.string() else { throw RPCFault(code: 400, message: "Reason phrase expected") }
        return (code, reason)
    }

    /// `index:label` as tm.list shows them (leading blanks skipped, anything after the
    /// label ignored, as Kamailio's scan does) → the cell id.
    static func parseTransactionID(_ text: String, buckets: Int) -> UInt64? {
        var bytes = Array(text.utf8)[...]
        while let f = bytes.first, f == 32 || f == 9 { bytes = bytes.dropFirst() }
        func number() -> UInt64? {
            var v: UInt64 = 0
            var digits = 0
            while let c = bytes.first, c >= 48, c <= 57 {
                v = v &* 10 &+ UInt64(c - 48)
                digits += 1
                bytes = bytes.dropFirst()
            }
            return digits > 0 && digits <= 19 ? v : nil
        }
        guard let index = number(), bytes.first == UInt8(ascii: ":") else { return nil }
        bytes = bytes.dropFirst()
        guard let label = number() else { return nil }
        guard index < UInt64(buckets), label < (1 << (64 - UInt64(TMTable.bucketBits))) else { return 0 }
        return label << UInt64(TMTable.bucketBits) | index
    }

    /// tm.list's members for one transaction.
    func listMembers(_ cell: TMCell, bucket: Int) -> [RPCMember] {
        let (outgoings, canceled, removed) = cell.lock.withLock { (cell.branches.count, cell.canceled, cell.removed) }
        guard !removed, let msg = try? SIPMessage(bytes: cell.request) else { return [] }
        func line(_ kind: SIPHeaderKind) -> String {
            guard let f = msg.firstHeader(kind) else { return "" }
            return SIPBytes.string(msg.bytes[f.name.lowerBound..<f.value.upperBound]) + "\r\n"
        }
        var cseq = ""
        if let f = msg.firstHeader(.cseq), let cs = try? msg.cseq() {
            cseq = SIPBytes.string(msg.bytes[f.name.lowerBound..<f.value.lowerBound]) + String(cs.number)
        }
        let flags = transactionFlags(cell, canceled: canceled)
        let address = UInt(bitPattern: Unmanaged.passUnretained(cell).toOpaque())
        return [
            RPCMember("cell", .string("0x" + String(address, radix: 16))),
            RPCMember("tindex", .int(bucket)),
            RPCMember("tlabel", .int(Int(cell.id >> UInt64(TMTable.bucketBits)))),
            RPCMember("method", .string(SIPBytes.string(msg.methodBytes))),
            RPCMember("from", .string(line(.from))),
            RPCMember("to", .string(line(.to))),
            RPCMember("callid", .string(line(.callID))),
            RPCMember("cseq", .string(cseq)),
            RPCMember("uas_request", .string(cell.isLocal ? "no" : "yes")),
            RPCMember("tflags", .int(flags)),
            RPCMember("outgoings", .int(outgoings)),
            RPCMember("ref_count", .int(1)),
            // Kamailio counts its end of life in timer ticks of 1/16 s.
            RPCMember("lifetime", .int(Int(cell.lifetimeEnd * 16 / 1000))),
        ]
    }

    /// Kamailio's flags of a transaction (tm.list `tflags`, `$T(flags)`).
    func transactionFlags(_ cell: TMCell, canceled: Bool) -> Int {
        var flags = cell.isInvite ? TFlag.invite : 0
        if cell.isLocal { flags |= TFlag.local }
        if canceled { flags |= TFlag.canceled }
        if cell.isInvite, cfg.autoInv100() != 0 { flags |= TFlag.autoInv100 }
        return flags
    }

    /// The INVITE transaction with this Call-ID and CSeq number (Kamailio compares the
    /// CSeq text with the number alone, so "10 INVITE" finds nothing).
    func inviteCell(callID: String, cseq: String) -> TMCell? {
        guard let n = UInt32(cseq) else { return nil }
        let cid = Array(callID.utf8)
        return table.allCells().first { c in
            c.isInvite && c.key.cseq == n && c.key.callID.elementsEqual(cid) && !c.lock.withLock { c.removed }
        }
    }

    /// tm.cancel: CANCEL on every pending branch; returns how many wait for a provisional
    /// before their CANCEL can go (§9.1).
    func cancelFromRPC(_ cell: TMCell) -> Int {
        cell.lock.withLock {
            cell.canceled = true
            var waiting = 0
            for i in cell.branches.indices where cell.branches[i].fsm.isPending {
                cancelBranch(cell, i)
                if cell.branches[i].cancelPending { waiting += 1 }
            }
            return waiting
        }
    }

    /// tm.reply: a local reply with the given To-tag, extra headers ("." for none) and
    /// body. A final reply to an INVITE cancels the branches still pending, as Kamailio does.
    func replyFromRPC(_ cell: TMCell, code: Int, reason: String, toTag: String, headers: String?, body: String?) -> Bool {
        guard (100...699).contains(code), let req = try? SIPMessage(bytes: cell.request) else { return false }
        var b = SIPReplyBuilder(statusCode: code, reason: reason)
        b.sourceAddress = cell.info.source.ipBytes
        b.sourcePort = cell.info.source.port
        b.server = runtime.serverValue
        b.toTag = Array(toTag.utf8)
        if let headers, headers != "." {
            // Content-Length is ours to write; the caller's lines go as they are.
            b.extraHeaders = headers.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" })
                .filter { !$0.lowercased().hasPrefix("content-length:") && !$0.lowercased().hasPrefix("l:") }
                .map { Array($0.utf8) }
        }
        if let body { b.body = Array(body.utf8) }
        stats.localReplies.wrappingAdd(1, ordering: .relaxed)
        guard sendUpstream(cell, bytes: b.build(for: req), code: code, reply: nil, locked: false) else { return false }
        if code >= 200, cell.isInvite {
            cell.lock.withLock {
                for i in cell.branches.indices where cell.branches[i].fsm.isPending { cancelBranch(cell, i) }
            }
        }
        return true
    }

    /// tm.clean: drops the transactions whose lifetime ended (a stuck one would otherwise
    /// stay until its timers say so).
    func cleanExpired(now t: UInt64) {
        for cell in table.allCells() where cell.lifetimeEnd < t {
            let drop: Bool = cell.lock.withLock {
                guard !cell.removed else { return false }
                cell.removed = true
                return true
            }
            if drop { table.remove(cell) }
        }
    }
}
