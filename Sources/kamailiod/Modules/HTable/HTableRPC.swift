#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Control
import ScriptEngine
import Shared

/// htable's control methods (`htable.get`, `htable.sets` ...), with the parameters,
/// replies and fault texts of Kamailio 5.6.3 (`rpc-examples/htable.*.json`).
extension HTableModule: RPCMethodProvider {
    /// The fault for an unknown table name.
    static let noSuchTable = RPCFault(code: 500, message: "No such htable")

    /// The fault for missing table and key parameters (`htable.get`, `htable.delete`).
    static let needKey = RPCFault(code: 500, message: "Not enough parameters (htable name and key name)")
    /// The fault for missing table, key and value parameters (`htable.sets`, `htable.seti`).
    static let needValue = RPCFault(code: 500, message: "Not enough parameters (htable name, key name and value)")
    /// The fault for a missing table name (`htable.dump`, `htable.flush`).
    static let needTable = RPCFault(code: 500, message: "No htable name given")

    /// Runs the parameter scans; any scan failure becomes htable's own fault, which
    /// Kamailio sends instead of the generic parameter error.
    private static func scanned<T>(_ fault: RPCFault, _ scan: () throws(RPCFault) -> T) throws(RPCFault) -> T {
        do { return try scan() } catch { throw fault }
    }

    /// Resolves a table name scanned before.
    private func resolve(_ name: String) throws(RPCFault) -> HTable {
        guard let t = table(name) else { throw Self.noSuchTable }
        return t
    }

    /// A stored value as an RPC value: integers stay integers, strings become text.
    static func rpcValue(_ v: ScriptValue) -> RPCValue {
        switch v {
        case .int(let i): return .int(Int(i))
        case .str(let b): return .string(String(decoding: b, as: UTF8.self))
        case .null: return .null
        }
    }

    /// An absolute expiry as `htable.get` shows it: `NEVER`, or local time
    /// `YYYY-MM-DD hh:mm:ss`.
    static func expiryText(_ expires: Int) -> String {
        guard expires != 0 else { return "NEVER" }
        var t = time_t(expires)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return "NEVER" }
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The `htable.*` methods.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        [
            RPCMethod("htable.get", help: "Get one key from a hash table.", signature: "<htable:s> <key:s>") { [self] call throws(RPCFault) in
                let (name, key) = try Self.scanned(Self.needKey) { () throws(RPCFault) in (try call.string(), try call.string()) }
                let t = try resolve(name)
                guard let (value, expires) = t.entry(key) else {
                    throw RPCFault(code: 500, message: "Key name doesn't exist in htable.")
                }
                // flags are Kamailio's AVP flags: 2 marks a string value, 0 an integer.
                let flags = if case .str = value { 2 } else { 0 }
                call.add(.object(["item": .object([
                    "name": .string(key), "value": Self.rpcValue(value), "flags": .int(flags),
                    "expire": .string(Self.expiryText(expires)),
                ])]))
            },
            RPCMethod("htable.sets", help: "Set one key in a hash table to a string value.",
                      signature: "<htable:s> <key:s> <value:s>") { [self] call throws(RPCFault) in
                let (name, key, value) = try Self.scanned(Self.needValue) { () throws(RPCFault) in
                    (try call.string(), try call.string(), try call.string())
                }
                let t = try resolve(name)
                t.set(key, .string(value))
                call.add(.string("Ok. Key set to new value."))
            },
            RPCMethod("htable.seti", help: "Set one key in a hash table to an integer value.",
                      signature: "<htable:s> <key:s> <value:i>") { [self] call throws(RPCFault) in
                let (name, key, value) = try Self.scanned(Self.needValue) { () throws(RPCFault) in
                    (try call.string(), try call.string(), try call.int())
                }
                let t = try resolve(name)
                t.set(key, .int(Int32(truncatingIfNeeded: value)))
                call.add(.string("Ok. Key set to new value."))
            },
            RPCMethod("htable.delete", help: "Delete one key from a hash table.", signature: "<htable:s> <key:s>") { [self] call throws(RPCFault) in
                let (name, key) = try Self.scanned(Self.needKey) { () throws(RPCFault) in (try call.string(), try call.string()) }
                try resolve(name).remove(key)
                call.add(.string("Ok. Key deleted."))
            },
            RPCMethod("htable.dump", help: "Dump hash table content.", signature: "<htable:s>", returnsArray: true) { [self] call throws(RPCFault) in
                let t = try resolve(try Self.scanned(Self.needTable) { () throws(RPCFault) in try call.string() })
                for (bucket, items) in t.bucketContents() {
                    let slot = items.map { item -> RPCValue in
                        let type = if case .int = item.value { "int" } else { "str" }
                        return .object(["name": .string(item.key), "value": Self.rpcValue(item.value), "type": .string(type)])
                    }
                    call.add(.object(["entry": .int(bucket), "size": .int(items.count), "slot": .array(slot)]))
                }
            },
            RPCMethod("htable.listTables", help: "List all htables.", returnsArray: true) { [self] call throws(RPCFault) in
                for t in tables {
                    let d = t.definition
                    call.add(.object([
                        "name": .string(d.name), "dbtable": "", "dbmode": .int(0), "expire": .int(d.autoExpire),
                        "updateexpire": .int(d.updateExpire ? 1 : 0), "size": .int(t.bucketCount), "dmqreplicate": .int(0),
                    ]))
                }
            },
            RPCMethod("htable.stats", help: "Statistics about htables.", returnsArray: true) { [self] call throws(RPCFault) in
                for t in tables {
                    let sizes = t.bucketContents().map(\.items.count)
                    let all = sizes.reduce(0, +)
                    // min counts the empty buckets too, as Kamailio's walk over every slot does.
                    let least = sizes.count < t.bucketCount ? 0 : sizes.min() ?? 0
                    call.add(.object([
                        "name": .string(t.definition.name), "slots": .int(t.bucketCount), "all": .int(all),
                        "min": .int(least), "max": .int(sizes.max() ?? 0),
                    ]))
                }
            },
            RPCMethod("htable.flush", help: "Flush hash table.", signature: "<htable:s>") { [self] call throws(RPCFault) in
                try resolve(try Self.scanned(Self.needTable) { () throws(RPCFault) in try call.string() }).reset()
                call.add(.string("Ok. Htable flushed."))
            },
        ]
    }
}
