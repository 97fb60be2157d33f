import SIPCore
import Shared
import Storage
import Synchronization

/// dialog's `db_mode`, as Kamailio numbers it.
enum DialogDBMode: Int, Sendable {
    /// Memory only.
    case none = 0
    /// Every change written when it happens.
    case realtime = 1
    /// Changes written every `db_update_period` seconds.
    case delayed = 2
    /// Everything written when the server stops.
    case shutdown = 3
}

/// One dialog as Kamailio's `dialog` table holds it (with its `dialog_vars` rows).
struct DialogRecord: Sendable {
    var entry: Int
    var id: UInt32
    var callID: [UInt8], fromURI: [UInt8], fromTag: [UInt8], toURI: [UInt8], toTag: [UInt8]
    var callerCSeq: UInt32, calleeCSeq: UInt32
    var callerRoutes: [[UInt8]], calleeRoutes: [[UInt8]]
    var callerContact: [UInt8], calleeContact: [UInt8]
    var callerSocket: String, calleeSocket: String
    var state: Int
    var startTime: Int
    /// When the lifetime runs out (epoch seconds).
    var timeout: Int
    var sflags: UInt32, iflags: UInt32
    var timeoutRoute: String?
    var requestURI: [UInt8]
    var vars: [(name: String, value: [UInt8])]
    /// Profiles, newest first (the `xdata` column, as Kamailio keeps them).
    var profiles: [(name: String, value: [UInt8]?)] = []
}

/// Reads and writes confirmed dialogs in Kamailio's `dialog` / `dialog_vars` tables, so
/// a restart (or Kamailio itself) finds them again.
final class DialogStore: Sendable {
    let db: SQLiteDatabase
    let mode: DialogDBMode
    let log: @Sendable (String) -> Void

    init(db: SQLiteDatabase, mode: DialogDBMode, log: @escaping @Sendable (String) -> Void) {
        self.db = db
        self.mode = mode
        self.log = log
    }

    private static func text(_ b: [UInt8]) -> SQLiteValue { .text(String(decoding: b, as: UTF8.self)) }

    /// A route set as Kamailio stores it: `<uri>,<uri>`.
    private static func routeText(_ set: [[UInt8]]) -> SQLiteValue {
        set.isEmpty ? .null : text(DialogModule.routeText(set))
    }

    /// `<uri>,<uri>` back to URIs.
    static func routes(_ value: SQLiteValue) -> [[UInt8]] {
        guard let s = value.string, !s.isEmpty else { return [] }
        return s.split(separator: ",").map { part in
            var p = Substring(part).drop { $0 == " " }
            if p.first == "<" { p = p.dropFirst() }
            if p.last == ">" { p = p.dropLast() }
            return Array(p.utf8)
        }
    }

    /// Writes the dialogs (replacing their rows) in one transaction.
    func save(_ records: [DialogRecord]) {
        guard !records.isEmpty else { return }
        do {
            try db.transaction { tx throws(SQLiteError) in
                for r in records {
                    let key: [SQLiteValue] = [.int(Int64(r.entry)), .int(Int64(r.id))]
                    try tx.query("DELETE FROM dialog WHERE hash_entry=? AND hash_id=?", key)
                    try tx.query("DELETE FROM dialog_vars WHERE hash_entry=? AND hash_id=?", key)
                    try tx.query("""
                        INSERT INTO dialog (hash_entry, hash_id, callid, from_uri, from_tag, to_uri, to_tag,
                            caller_cseq, callee_cseq, caller_route_set, callee_route_set, caller_contact,
                            callee_contact, caller_sock, callee_sock, state, start_time, timeout, sflags, iflags,
                            toroute_name, req_uri, xdata)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, key + [
                            Self.text(r.callID), Self.text(r.fromURI), Self.text(r.fromTag), Self.text(r.toURI),
                            Self.text(r.toTag), .text(String(r.callerCSeq)), .text(String(r.calleeCSeq)),
                            Self.routeText(r.callerRoutes), Self.routeText(r.calleeRoutes), Self.text(r.callerContact),
                            Self.text(r.calleeContact), .text(r.callerSocket), .text(r.calleeSocket),
                            .int(Int64(r.state)), .int(Int64(r.startTime)), .int(Int64(r.timeout)),
                            .int(Int64(r.sflags)), .int(Int64(r.iflags)), r.timeoutRoute.map { .text($0) } ?? .null,
                            Self.text(r.requestURI), Self.xdata(r),
                        ])
                    for v in r.vars {
                        try tx.query("INSERT INTO dialog_vars (hash_entry, hash_id, dialog_key, dialog_value) VALUES (?, ?, ?, ?)",
                                     key + [.text(v.name), Self.text(v.value)])
                    }
                }
            }
        } catch {
            log("cannot save \(records.count) dialog(s): \(error)")
        }
    }

    /// Kamailio's `xdata`: `{"profiles":[{"name":..,"value":..,"puid":..}]}` (NULL without
    /// profiles); `puid` names the membership (ours: `dlgp-<h_entry>-<h_id>-<n>`).
    static func xdata(_ r: DialogRecord) -> SQLiteValue {
        guard !r.profiles.isEmpty else { return .null }
        let list = r.profiles.enumerated().map { i, p -> RPCValue in
            var m = [RPCMember("name", .string(p.name))]
            if let v = p.value { m.append(RPCMember("value", .string(String(decoding: v, as: UTF8.self)))) }
            m.append(RPCMember("puid", .string("dlgp-\(r.entry)-\(r.id)-\(r.profiles.count - i)")))
            return .struct(m)
        }
        return .text(RPCJSONWriter.string(.object(["profiles": .array(list)]), style: .compact))
    }

    /// The profiles in an `xdata` value (none when it is not Kamailio's JSON).
    static func profiles(_ value: SQLiteValue) -> [(name: String, value: [UInt8]?)] {
        guard let text = value.string, let json = try? RPCJSONParser.parse(text),
              case .array(let list)? = json["profiles"] else { return [] }
        return list.compactMap { p in
            guard let name = p["name"]?.stringValue else { return nil }
            return (name, p["value"]?.stringValue.map { Array($0.utf8) })
        }
    }

    /// Removes a dialog's rows.
    func remove(entry: Int, id: UInt32) {
        let key: [SQLiteValue] = [.int(Int64(entry)), .int(Int64(id))]
        do {
            try db.transaction { tx throws(SQLiteError) in
                try tx.query("DELETE FROM dialog WHERE hash_entry=? AND hash_id=?", key)
                try tx.query("DELETE FROM dialog_vars WHERE hash_entry=? AND hash_id=?", key)
            }
        } catch {
            log("cannot remove dialog [\(entry):\(id)]: \(error)")
        }
    }

    /// Every stored dialog with its variables (newest variable first, as dlg.list shows).
    func loadAll() throws(SQLiteError) -> [DialogRecord] {
        let rows = try db.query("""
            SELECT hash_entry, hash_id, callid, from_uri, from_tag, to_uri, to_tag, caller_cseq, callee_cseq,
                caller_route_set, callee_route_set, caller_contact, callee_contact, caller_sock, callee_sock,
                state, start_time, timeout, sflags, iflags, toroute_name, req_uri, xdata FROM dialog ORDER BY id
            """)
        var vars: [String: [(name: String, value: [UInt8])]] = [:]
        for v in try db.query("SELECT hash_entry, hash_id, dialog_key, dialog_value FROM dialog_vars ORDER BY id DESC") {
            guard v.count == 4, let e = v[0].int, let i = v[1].int, let k = v[2].string else { continue }
            vars["\(e).\(i)", default: []].append((k, Array((v[3].string ?? "").utf8)))
        }
        return rows.compactMap { r -> DialogRecord? in
            guard r.count == 23, let e = r[0].int, let i = r[1].int, let cid = r[2].string,
                  let state = r[15].int else { return nil }
            func b(_ n: Int) -> [UInt8] { Array((r[n].string ?? "").utf8) }
            return DialogRecord(entry: Int(e), id: UInt32(truncatingIfNeeded: i), callID: Array(cid.utf8),
                                fromURI: b(3), fromTag: b(4), toURI: b(5), toTag: b(6),
                                callerCSeq: UInt32(r[7].string ?? "") ?? 0, calleeCSeq: UInt32(r[8].string ?? "") ?? 0,
                                callerRoutes: Self.routes(r[9]), calleeRoutes: Self.routes(r[10]),
                                callerContact: b(11), calleeContact: b(12),
                                callerSocket: r[13].string ?? "", calleeSocket: r[14].string ?? "",
                                state: Int(state), startTime: Int(r[16].int ?? 0), timeout: Int(r[17].int ?? 0),
                                sflags: UInt32(truncatingIfNeeded: r[18].int ?? 0), iflags: UInt32(truncatingIfNeeded: r[19].int ?? 0),
                                timeoutRoute: r[20].string, requestURI: b(21), vars: vars["\(e).\(i)"] ?? [],
                                profiles: Self.profiles(r[22]))
        }
    }
}
