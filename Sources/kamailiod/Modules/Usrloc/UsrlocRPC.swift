import Control
import Shared

/// usrloc's control methods (`ul.dump`, `ul.lookup`, `ul.rm`, `ul.rm_contact`, `ul.add`,
/// `ul.flush`, `ul.db_*`) with the parameters, reply shapes and fault texts of Kamailio
/// 5.6.3 (`rpc-examples/ul.*.json`). Changes go through `UsrlocTable.update`, so they reach
/// the database the same way a REGISTER's do (at once in db_mode 1/3, at the next flush
/// in db_mode 2).
extension UsrlocModule: RPCMethodProvider {
    static let noTable = RPCFault(code: 500, message: "Domain table not found")
    static let noDomain = RPCFault(code: 500, message: "Domain missing in AOR")
    static let needAoR = RPCFault(code: 500, message: "Not enough parameters (table and AOR to lookup)")
    static let needContact = RPCFault(code: 500, message: "Not enough parameters (table, AOR and contact)")
    static let badAdd = RPCFault(code: 500, message: "Not enough parameters or wrong format")
    static let needDBTable = RPCFault(code: 500, message: "Not enough parameters (table to lookup)")
    static let noDB = RPCFault(code: 500, message: "Command is not supported in db_mode=0")
    /// Call-ID, CSeq and User-Agent Kamailio gives contacts added over RPC.
    static let rpcCallID = "dfjrewr12386fd6-343@kamailio.rpc"
    static let rpcUserAgent = "kamailio SIP Router - RPC Server"

    /// The `ul.*` methods; also registers the `usrloc:` and `registrar:` statistics.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        registerStatistics(in: environment.statistics)
        return [
            RPCMethod("ul.dump", help: "Dump user location tables", signature: "[brief:s]") { [self] call in
                let brief = call.optionalString() == "brief"
                call.add(.object(["Domains": .array(allTables().map { .object(["Domain": dump($0, brief: brief, call)]) })]))
            },
            RPCMethod("ul.lookup", help: "Lookup one AOR in the usrloc location table",
                      signature: "<table:s> <aor:s>") { [self] call throws(RPCFault) in
                let (table, aor) = try target(call, Self.needAoR)
                let now = Self.now()
                guard let list = table.records(of: aor) else { throw RPCFault(code: 500, message: "AOR not found in location table") }
                let valid = list.filter { !$0.isExpired(at: now) }
                guard !valid.isEmpty else { throw RPCFault(code: 500, message: "AOR has no contacts") }
                call.add(.object(["AoR": .string(aor), "Contacts": .array(valid.map { contactValue($0, table, now, call) })]))
            },
            RPCMethod("ul.rm", help: "Delete an address of record including its contacts",
                      signature: "<table:s> <aor:s>") { [self] call throws(RPCFault) in
                let (table, aor) = try target(call, Self.needAoR)
                // Kamailio answers an empty result whether or not the AoR existed.
                table.update(aor) { list in
                    let gone = list.map { UsrlocChange.delete(ruid: $0.ruid) }
                    list.removeAll()
                    return ((), gone)
                }
            },
            RPCMethod("ul.rm_contact", help: "Delete a contact from an AOR record",
                      signature: "<table:s> <aor:s> <contact:s>") { [self] call throws(RPCFault) in
                let (table, aor) = try target(call, Self.needContact)
                let contact = try Self.scanned(Self.needContact) { () throws(RPCFault) in try call.string() }
                guard table.records(of: aor) != nil else { throw RPCFault(code: 404, message: "AOR not found") }
                let removed = table.update(aor) { list in
                    guard let i = list.firstIndex(where: { $0.contact == contact }) else { return (false, []) }
                    let gone = list.remove(at: i)
                    return (true, [.delete(ruid: gone.ruid)])
                }
                guard removed else { throw RPCFault(code: 404, message: "Contact not found") }
            },
            RPCMethod("ul.flush", help: "Flush the usrloc memory cache to DB") { [self] _ in flushAll() },
            RPCMethod("ul.add", help: "Add a new contact for an address of record",
                      signature: "<table:s> <aor:s> <contact:s> <expires:i> <q:d> <path:s> <flags:i> <cflags:i> <methods:i> [received:s] [socket:s]") {
                [self] call throws(RPCFault) in try add(call)
            },
            dbCount("ul.db_users", help: "Tell number of different unexpired users (AoRs) in database table (db_mode!=0 only)",
                    failure: "Failed to query AoR count") { $0.users },
            dbCount("ul.db_contacts", help: "Tell number of unexpired contacts in database table (db_mode=3 only)",
                    failure: "Failed to query contact count") { $0.contacts },
            dbCount("ul.db_expired_contacts", help: "Tell number of expired contacts in database table (db_mode=3 only)",
                    failure: "Failed to query contact count") { $0.expired },
        ]
    }

    /// Runs parameter scans, turning any scan failure into usrloc's own fault (Kamailio
    /// sends that instead of the generic parameter error, over JSON-RPC too).
    static func scanned<T>(_ fault: RPCFault, _ scan: () throws(RPCFault) -> T) throws(RPCFault) -> T {
        do { return try scan() } catch { throw fault }
    }

    /// Every table the script uses, by name.
    func allTables() -> [UsrlocTable] {
        tablesLock.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    /// Scans `table aor`, finds the table and normalises the AoR as Kamailio does: without
    /// `use_domain` the domain part is cut off; with it, one is required.
    private func target(_ call: RPCCall, _ fault: RPCFault) throws(RPCFault) -> (UsrlocTable, String) {
        let (name, raw) = try Self.scanned(fault) { () throws(RPCFault) in (try call.string(), try call.string()) }
        guard let table = existingTable(name) else { throw Self.noTable }
        let at = raw.firstIndex(of: "@")
        if useDomain {
            guard at != nil else { throw Self.noDomain }
            return (table, raw)
        }
        return (table, at.map { String(raw[..<$0]) } ?? raw)
    }

    /// `ul.add table aor contact expires q path flags cflags methods [received [socket]]`:
    /// updates the binding with that contact URI or adds one; expires 0 is permanent,
    /// q -1 unspecified, path/received/socket `.` or `0` unset.
    private func add(_ call: RPCCall) throws(RPCFault) {
        let (table, aor) = try target(call, Self.badAdd)
        let p = try Self.scanned(Self.badAdd) { () throws(RPCFault) in
            (contact: try call.string(), expires: try call.int(), q: try call.double(), path: try call.string(),
             flags: Self.unsigned(call, try call.int()), cflags: Self.unsigned(call, try call.int()),
             methods: Self.unsigned(call, try call.int()))
        }
        func setOrNil(_ s: String?) -> String? { s.flatMap { $0 == "." || $0 == "0" || $0.isEmpty ? nil : $0 } }
        let received = setOrNil(call.optionalString())
        let socket = setOrNil(call.optionalString())
        let now = Self.now()
        let q = p.q < 0 ? -1 : min(1000, Int((p.q * 1000).rounded()))
        var binding = UsrlocContact(ruid: "", aor: aor, contact: p.contact, received: received, path: setOrNil(p.path),
                                    expires: p.expires == 0 ? 0 : now + p.expires, q: q, callID: Self.rpcCallID, cseq: 1,
                                    flags: p.flags, cflags: p.cflags, userAgent: Self.rpcUserAgent, socket: socket,
                                    methods: p.methods, lastModified: now)
        table.update(aor) { list in
            if let i = list.firstIndex(where: { $0.contact == p.contact }) {
                binding.ruid = list[i].ruid
                binding.instance = list[i].instance
                binding.regID = list[i].regID
                list[i] = binding
            } else {
                binding.ruid = RegistrarRUID.next()
                list.append(binding)
            }
            return ((), [.upsert(binding)])
        }
    }

    /// An unsigned parameter (Kamailio's `u`): binrpc's 32-bit INT read as unsigned; over
    /// JSON-RPC the number as sent (4294967295 does not fit the signed scan).
    private static func unsigned(_ call: RPCCall, _ scanned: Int) -> Int {
        if call.transport == .jsonRPC, case .int(let raw) = call.params[call.nextParameter - 1] {
            return Int(UInt32(truncatingIfNeeded: raw))
        }
        return Int(UInt32(truncatingIfNeeded: scanned))
    }

    /// An unsigned reply value: JSON shows the number, binrpc sends the same 32 bits as
    /// an INT (kamcmd prints `Methods: -1`, as with Kamailio).
    private static func unsignedValue(_ v: UInt32, _ call: RPCCall) -> RPCValue {
        call.transport == .binrpc ? .int(Int(Int32(bitPattern: v))) : .int(Int(v))
    }

    /// One table in `ul.dump`: its records, and per-slot statistics.
    private func dump(_ table: UsrlocTable, brief: Bool, _ call: RPCCall) -> RPCValue {
        let now = Self.now()
        var aors: [RPCValue] = []
        var records = 0, maxPerSlot = 0
        for slot in table.slotContents() {
            records += slot.count
            maxPerSlot = max(maxPerSlot, slot.count)
            for r in slot {
                if brief {
                    aors.append(.object(["AoR": .string(r.aor)]))
                } else {
                    aors.append(.object(["Info": .object([
                        "AoR": .string(r.aor), "HashID": Self.unsignedValue(UsrlocTable.hash(r.aor), call),
                        "Contacts": .array(r.contacts.map { contactValue($0, table, now, call) }),
                    ])]))
                }
            }
        }
        return .object(["Domain": .string(table.name), "Size": .int(table.slots.count), "AoRs": .array(aors),
                        "Stats": .object(["Records": .int(records), "Max-Slots": .int(maxPerSlot)])])
    }

    /// One contact as `ul.dump` and `ul.lookup` show it.
    private func contactValue(_ c: UsrlocContact, _ table: UsrlocTable, _ now: Int, _ call: RPCCall) -> RPCValue {
        let expires: RPCValue = c.expires == 0 ? "permanent" : now > c.expires ? "expired" : .int(c.expires - now)
        let state = table.store == nil || table.store?.isPending(c.ruid) == true ? "CS_NEW" : "CS_SYNC"
        func text(_ s: String?) -> RPCValue { .string(s.flatMap { $0.isEmpty ? nil : $0 } ?? "[not set]") }
        return .object(["Contact": .object([
            "Address": .string(c.contact), "Expires": expires, "Q": .double(c.q < 0 ? -1 : Double(c.q) / 1000),
            "Call-ID": .string(c.callID), "CSeq": .int(c.cseq), "User-Agent": text(c.userAgent),
            "Received": text(c.received), "Path": text(c.path), "State": .string(state),
            "Flags": Self.unsignedValue(UInt32(truncatingIfNeeded: c.flags), call),
            "CFlags": Self.unsignedValue(UInt32(truncatingIfNeeded: c.cflags), call), "Socket": text(c.socket),
            "Methods": Self.unsignedValue(c.methods.map { UInt32(truncatingIfNeeded: $0) } ?? .max, call),
            "Ruid": text(c.ruid), "Instance": text(c.instance), "Reg-Id": .int(c.regID), "Server-Id": 0,
            "Tcpconn-Id": -1, "Keepalive": 0, "Last-Keepalive": .int(c.lastModified), "KA-Roundtrip": 0,
            "Last-Modified": .int(c.lastModified),
        ])])
    }

    /// `ul.db_users` and friends: counts read from the stored rows (db_mode 1-3 only).
    private func dbCount(_ name: String, help: String, failure: String,
                         _ pick: @escaping @Sendable ((users: Int, contacts: Int, expired: Int)) -> Int) -> RPCMethod {
        RPCMethod(name, help: help, signature: "<table:s>") { [self] call throws(RPCFault) in
            guard dbMode != .none else { throw Self.noDB }
            let name = try Self.scanned(Self.needDBTable) { () throws(RPCFault) in try call.string() }
            guard let store = existingTable(name)?.store,
                  let counts = try? store.storedCounts(now: Self.now()) else {
                throw RPCFault(code: 500, message: failure)
            }
            call.add(.int(pick(counts)))
        }
    }
}
