import Shared

/// One contact binding from `ul.dump`.
struct ContactRow: Equatable, Sendable {
    /// Contact URI.
    var address: String
    /// Seconds left at the time of the poll.
    var expires: Int
    /// q value, nil when unset (Kamailio sends -1).
    var q: Double?
    /// Received address (NAT), empty when unset.
    var received: String
    /// User-Agent.
    var userAgent: String
    /// Path, empty when unset.
    var path: String
    /// Socket the binding arrived on.
    var socket: String
    /// Every member as received, for the detail pane.
    var fields: [RPCMember]
}

/// One address of record with its contacts.
struct AoRRecord: Equatable, Sendable {
    /// usrloc table (domain), e.g. `location`; `ul.rm` takes it.
    var table: String
    /// The AoR.
    var aor: String
    /// Its bindings.
    var contacts: [ContactRow]
}

/// One line of the registrations screen: an AoR heading or one of its contacts.
struct RegistrationLine: Equatable, Sendable {
    /// The AoR this line belongs to.
    var record: AoRRecord
    /// Index into `record.contacts`, nil for the AoR heading.
    var contact: Int?

    /// Identity for keeping the selection across polls.
    var key: String {
        if let c = contact, record.contacts.indices.contains(c) { return record.aor + "\u{1}" + record.contacts[c].address }
        return record.aor
    }
}

/// Parsing of `ul.dump` and the lines shown.
enum ModelRegistrations {
    /// Parses a `ul.dump` reply: `Domains → Domain{Domain, AoRs → Info{AoR, Contacts → Contact}}`.
    static func parse(_ values: [RPCValue]) -> [AoRRecord] {
        var out: [AoRRecord] = []
        for v in values {
            guard case .struct(let top) = v.binrpcShaped else { continue }
            for domain in ModelRecords.children(top, "Domains") {
                guard case .struct(let d) = domain.value else { continue }
                let table = ModelRecords.string(d, "Domain") ?? "location"
                for info in ModelRecords.children(d, "AoRs") {
                    guard case .struct(let i) = info.value else { continue }
                    // `ul.dump brief` has bare `AoR: name` members instead of Info structs.
                    let aor = ModelRecords.string(i, "AoR") ?? ""
                    let contacts = ModelRecords.children(i, "Contacts").compactMap { c -> ContactRow? in
                        guard case .struct(let f) = c.value else { return nil }
                        let q = ModelRecords.double(f, "Q")
                        return ContactRow(
                            address: ModelRecords.string(f, "Address") ?? "",
                            expires: ModelRecords.int(f, "Expires") ?? 0,
                            q: (q ?? -1) < 0 ? nil : q,
                            received: ModelRecords.unsetToEmpty(ModelRecords.string(f, "Received")),
                            userAgent: ModelRecords.unsetToEmpty(ModelRecords.string(f, "User-Agent")),
                            path: ModelRecords.unsetToEmpty(ModelRecords.string(f, "Path")),
                            socket: ModelRecords.unsetToEmpty(ModelRecords.string(f, "Socket")),
                            fields: f)
                    }
                    out.append(AoRRecord(table: table, aor: aor, contacts: contacts))
                }
            }
        }
        return out
    }

    /// Heading + contact lines for AoRs matching `filter` (case-insensitive, on the AoR and
    /// its contacts), AoRs sorted by the chosen column.
    static func lines(_ records: [AoRRecord], state: ModelListState) -> [RegistrationLine] {
        let needle = state.filter.lowercased()
        var recs = records.filter { r in
            needle.isEmpty || r.aor.lowercased().contains(needle)
                || r.contacts.contains { ($0.address + " " + $0.userAgent + " " + $0.received).lowercased().contains(needle) }
        }
        if let c = state.sortColumn {
            let keyed = recs.enumerated().map { ($0.offset, sortKey($0.element, column: c), $0.element) }
            recs = keyed.sorted { a, b in
                if ModelCell.less(a.1, b.1) { return state.ascending }
                if ModelCell.less(b.1, a.1) { return !state.ascending }
                return a.0 < b.0
            }.map(\.2)
        }
        var out: [RegistrationLine] = []
        for r in recs {
            out.append(RegistrationLine(record: r, contact: nil))
            for i in r.contacts.indices { out.append(RegistrationLine(record: r, contact: i)) }
        }
        return out
    }

    /// Column titles the view draws and the sort keys cycle through.
    static let columnTitles = ["AoR / Contact", "Expires", "Q", "Received", "User-Agent", "Path"]

    /// An AoR's sort key for a column: its soonest expiry, highest q, or first contact's text.
    static func sortKey(_ r: AoRRecord, column: Int) -> ModelCell {
        let first = r.contacts.first
        switch column {
        case 1: return .number(Double(r.contacts.map(\.expires).min() ?? 0), "")
        case 2: return .number(r.contacts.compactMap(\.q).max() ?? -1, "")
        case 3: return .text(first?.received ?? "")
        case 4: return .text(first?.userAgent ?? "")
        case 5: return .text(first?.path ?? "")
        default: return .text(r.aor)
        }
    }
}

import Foundation
