import Shared

/// One transaction from `tm.list`.
///
/// Kamailio 5.6.3 gives `tindex`, `tlabel`, `method`, whole `from`/`to`/`callid` header
/// lines, `cseq`, `uas_request`, `tflags`, `outgoings` and an absolute `lifetime`; it has
/// no state, branch id, age or last reply. When the server sends `state`, `branch`, `age`
/// or `last_reply` (kamailiod may) they are shown; otherwise state is derived from
/// `uas_request` and the age counts from when kamcon first saw the transaction.
struct TransactionRow: Equatable, Sendable {
    /// `tindex:tlabel`, the identity tm uses in `tm.reply`.
    var id: String
    /// Request method.
    var method: String
    /// From URI.
    var from: String
    /// To URI.
    var to: String
    /// Call-ID value.
    var callID: String
    /// CSeq number.
    var cseq: String
    /// Via branch when the server reports it.
    var branch: String
    /// Transaction state (server-reported or `UAS`/`local`).
    var state: String
    /// Number of outgoing branches.
    var branches: Int
    /// Last reply code/reason when the server reports it.
    var lastReply: String
    /// Seconds since the transaction was created (server-reported) or first seen.
    var age: Int
    /// Every member as received, for the detail pane.
    var fields: [RPCMember]

    /// Parses a `tm.list` reply; `firstSeen` maps ids to the time kamcon first saw them
    /// and is updated so ages keep counting between polls.
    static func parse(_ values: [RPCValue], now: Double, firstSeen: inout [String: Double]) -> [TransactionRow] {
        var rows: [TransactionRow] = []
        var seen: Set<String> = []
        for item in ModelRecords.items(values) {
            for m in ModelRecords.splitRepeating(item) {
                let s = { (n: String) in ModelRecords.string(m, n) ?? "" }
                let id = "\(s("tindex")):\(s("tlabel"))"
                let first = firstSeen[id] ?? now
                firstSeen[id] = first
                seen.insert(id)
                let fromValue = ModelSIPText.headerValue(s("from"))
                let toValue = ModelSIPText.headerValue(s("to"))
                let uas = s("uas_request")
                let state = ModelRecords.string(m, "state") ?? (uas == "yes" ? "UAS" : uas == "no" ? "local" : uas)
                let age = ModelRecords.int(m, "age") ?? Int(now - first)
                rows.append(TransactionRow(
                    id: id, method: s("method"), from: ModelSIPText.uri(fromValue), to: ModelSIPText.uri(toValue),
                    callID: ModelSIPText.headerValue(s("callid")), cseq: ModelSIPText.headerValue(s("cseq")),
                    branch: ModelRecords.string(m, "branch") ?? "",
                    state: state, branches: ModelRecords.int(m, "outgoings") ?? ModelRecords.int(m, "branches") ?? 0,
                    lastReply: ModelRecords.string(m, "last_reply") ?? ModelRecords.string(m, "reply") ?? "",
                    age: age, fields: m))
            }
        }
        firstSeen = firstSeen.filter { seen.contains($0.key) }
        return rows
    }

    /// The list's columns, in display order.
    static let columns: [ModelColumn<TransactionRow>] = [
        .init("Method", width: 9) { .text($0.method) },
        .init("Call-ID", width: 22, flex: 3) { .text($0.callID) },
        .init("From", width: 18, flex: 2) { .text($0.from) },
        .init("To", width: 18, flex: 2) { .text($0.to) },
        .init("CSeq", width: 5, right: true) { .number(Double(Int($0.cseq) ?? 0), $0.cseq) },
        .init("State", width: 9) { .text($0.state) },
        .init("Age", width: 6, right: true) { .number(Double($0.age), ModelSIPText.duration($0.age)) },
        .init("Br", width: 3, right: true) { .number(Double($0.branches), String($0.branches)) },
        .init("Last reply", width: 10, flex: 1) { .text($0.lastReply.isEmpty ? "-" : $0.lastReply) },
        .init("Branch/id", width: 12, flex: 1) { .text($0.branch.isEmpty ? $0.id : $0.branch) },
    ]
}
