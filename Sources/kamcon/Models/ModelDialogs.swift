import Shared

/// One dialog from `dlg.list` (same shape over binrpc and JSON-RPC once normalised).
struct DialogRow: Equatable, Sendable {
    /// Hash entry, first half of the id `dlg.end_dlg` takes.
    var hEntry: Int
    /// Hash id, second half.
    var hID: Int
    /// Call-ID.
    var callID: String
    /// From URI.
    var from: String
    /// To URI.
    var to: String
    /// Numeric state (1 unconfirmed … 5 deleted).
    var state: Int
    /// Start time (epoch seconds, 0 before the 2xx).
    var start: Int
    /// Duration in seconds as the server reported it.
    var duration: Int
    /// Absolute timeout (epoch seconds).
    var timeout: Int
    /// Caller's tag.
    var callerTag: String
    /// Callee's tag.
    var calleeTag: String
    /// Profiles: `name=value` or bare `name`.
    var profiles: [String]
    /// Every member as received, for the detail pane.
    var fields: [RPCMember]

    /// `h_entry:h_id`.
    var id: String { "\(hEntry):\(hID)" }

    /// State name as Kamailio's docs call them.
    var stateName: String { DialogRow.stateName(state) }

    /// Names of dialog states 1–5.
    static func stateName(_ state: Int) -> String {
        switch state {
        case 1: return "unconfirmed"
        case 2: return "early"
        case 3: return "confirmed*"  // 2xx seen, ACK not yet
        case 4: return "confirmed"
        case 5: return "deleted"
        default: return String(state)
        }
    }

    /// Parses a `dlg.list` reply.
    static func parse(_ values: [RPCValue]) -> [DialogRow] {
        ModelRecords.items(values).compactMap { m in
            guard let hEntry = ModelRecords.int(m, "h_entry"), let hID = ModelRecords.int(m, "h_id") else { return nil }
            let s = { (n: String) in ModelRecords.string(m, n) ?? "" }
            let caller = ModelRecords.children(m, "caller")
            let callee = ModelRecords.children(m, "callee")
            let profiles = ModelRecords.children(m, "profiles").map { p -> String in
                if let name = p.name { return "\(name)=\(RPCTextRender.scalarText(p.value))" }
                if case .struct(let inner) = p.value {
                    return inner.map { "\($0.name ?? "")=\(RPCTextRender.scalarText($0.value))" }.joined(separator: ",")
                }
                return RPCTextRender.scalarText(p.value)
            }
            return DialogRow(
                hEntry: hEntry, hID: hID, callID: s("call-id"), from: s("from_uri"), to: s("to_uri"),
                state: ModelRecords.int(m, "state") ?? 0, start: ModelRecords.int(m, "start_ts") ?? 0,
                duration: ModelRecords.int(m, "duration") ?? 0, timeout: ModelRecords.int(m, "timeout") ?? 0,
                callerTag: ModelRecords.string(caller, "tag") ?? "", calleeTag: ModelRecords.string(callee, "tag") ?? "",
                profiles: profiles, fields: m)
        }
    }

    /// Seconds since the dialog started, counted on the local clock so it ticks between polls.
    func liveDuration(now: Double) -> Int { start > 0 ? max(0, Int(now) - start) : duration }

    /// Seconds until the dialog timer fires.
    func timeLeft(now: Double) -> Int { timeout > 0 ? max(0, timeout - Int(now)) : 0 }

    /// The list's columns; the ones depending on the clock read it through `ModelClock`.
    static func columns(now: Double) -> [ModelColumn<DialogRow>] {
        [
            .init("State", width: 11) { .number(Double($0.state), $0.stateName) },
            .init("From", width: 22, flex: 2) { .text($0.from) },
            .init("To", width: 22, flex: 2) { .text($0.to) },
            .init("Call-ID", width: 18, flex: 3) { .text($0.callID) },
            .init("Start", width: 8) { .number(Double($0.start), $0.start > 0 ? ModelClock.timeOfDay($0.start) : "-") },
            .init("Duration", width: 8, right: true) { row in
                let d = row.liveDuration(now: now)
                return .number(Double(d), ModelSIPText.duration(d))
            },
            .init("Timeout", width: 7, right: true) { row in
                let t = row.timeLeft(now: now)
                return .number(Double(t), row.timeout > 0 ? ModelSIPText.duration(t) : "-")
            },
            .init("Profiles", width: 12, flex: 1) { .text($0.profiles.joined(separator: " ")) },
        ]
    }
}

/// Wall-clock helpers for models and views.
enum ModelClock {
    /// Seconds since the epoch.
    static func now() -> Double { Date().timeIntervalSince1970 }

    /// `HH:MM:SS` in local time.
    static func timeOfDay(_ epoch: Int) -> String {
        var t = time_t(epoch)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

import Foundation
