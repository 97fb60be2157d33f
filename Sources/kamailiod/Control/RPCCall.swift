import Shared

/// The wire format a call arrived in. Scanning and some methods behave differently per
/// format, as Kamailio's do (spec §6.4, §7): binrpc checks record types strictly, jsonrpcs
/// reads any JSON value in a numeric slot.
public enum RPCTransportKind: Sendable, Equatable {
    /// ctl's binrpc (kamcmd).
    case binrpc
    /// jsonrpcs's JSON-RPC (kamctl, kamcli).
    case jsonRPC
}

/// One method invocation: the parameters to scan and the values the method adds.
///
/// Mirrors Kamailio's RPC "scan" and "add" API without its printf-style strings: a handler
/// reads typed parameters in order and adds `RPCValue`s; the server encodes them. A scan
/// failure throws a fault that is only *prepared* (spec §3.7): the server sends it when the
/// method produced nothing, and drops it otherwise. Used by one thread at a time.
public final class RPCCall {
    /// The method name as requested.
    public let method: String
    /// The request parameters, in order.
    public let params: [RPCValue]
    /// Where the call came from.
    public let transport: RPCTransportKind
    /// The top-level values added so far, in order.
    public private(set) var values: [RPCValue] = []
    /// Index of the next parameter a scan reads.
    public private(set) var nextParameter = 0
    /// The last scan failure; the registry compares a thrown fault with it.
    private(set) var scanFault: RPCFault?

    /// Creates a call.
    public init(method: String, params: [RPCValue], transport: RPCTransportKind) {
        self.method = method
        self.params = params
        self.transport = transport
    }

    /// Parameters not scanned yet.
    public var remainingParameterCount: Int { max(0, params.count - nextParameter) }

    /// Adds one top-level value (binrpc keeps all; JSON keeps the last unless the method
    /// is array-returning).
    public func add(_ value: RPCValue) {
        values.append(value)
    }

    // MARK: - Scanning

    /// Reads a mandatory integer parameter.
    ///
    /// binrpc wants an INT record. JSON-RPC takes the numeric value of any JSON type, as
    /// jsonrpcs does: a string reads as 0, integers beyond 32 bits as `Int32.min`.
    public func int() throws(RPCFault) -> Int {
        guard let v = try scan(.integer, convert: { self.integerValue($0) }) else { throw missing(.integer) }
        return v
    }

    /// Reads a mandatory string parameter; with `convertNumbers` an integer (or, over
    /// JSON, any number) is accepted and rendered as an unsigned 64-bit number, Kamailio's
    /// quirk (`-1` → `18446744073709551615`, spec §3.8).
    public func string(convertNumbers: Bool = false) throws(RPCFault) -> String {
        guard let v = try scan(.string, convert: { self.stringValue($0, convertNumbers: convertNumbers) }) else {
            throw missing(.string)
        }
        return v
    }

    /// Reads a mandatory double parameter (binrpc: DOUBLE or INT record).
    public func double() throws(RPCFault) -> Double {
        guard let v = try scan(.double, convert: { self.doubleValue($0) }) else { throw missing(.double) }
        return v
    }

    /// Reads an optional integer: nil when absent. A value of the wrong type also gives nil
    /// and prepares the scan fault, which is sent only if the method adds nothing.
    public func optionalInt() -> Int? {
        optional { () throws(RPCFault) in try int() }
    }

    /// Reads an optional string (see `optionalInt`).
    public func optionalString(convertNumbers: Bool = false) -> String? {
        optional { () throws(RPCFault) in try string(convertNumbers: convertNumbers) }
    }

    /// Reads an optional double (see `optionalInt`).
    public func optionalDouble() -> Double? {
        optional { () throws(RPCFault) in try double() }
    }

    private func optional<T>(_ read: () throws(RPCFault) -> T) -> T? {
        guard nextParameter < params.count else { return nil }
        return try? read()
    }

    /// Reads the next parameter with `convert`; nil at the end of the parameters; a
    /// conversion that fails throws (and records) a type-mismatch fault.
    private func scan<T>(_ expected: RPCFault.ExpectedType, convert: (RPCValue) -> T?) throws(RPCFault) -> T? {
        guard nextParameter < params.count else { return nil }
        guard let v = convert(params[nextParameter]) else {
            let fault = RPCFault.parameter(nextParameter, expected: expected, .typeMismatch)
            scanFault = fault
            throw fault
        }
        nextParameter += 1
        return v
    }

    private func missing(_ expected: RPCFault.ExpectedType) -> RPCFault {
        let fault = RPCFault.parameter(nextParameter, expected: expected, .endOfPacket)
        scanFault = fault
        return fault
    }

    private func integerValue(_ v: RPCValue) -> Int? {
        switch (transport, v) {
        case (_, .int(let i)): return Int(Int32(exactly: i) ?? Int32.min)
        case (.jsonRPC, .double(let d)):
            guard d.isFinite, let i = Int32(exactly: d.rounded(.towardZero)) else { return Int(Int32.min) }
            return Int(i)
        case (.jsonRPC, .bool(let b)): return b ? 1 : 0
        case (.jsonRPC, _): return 0
        default: return nil
        }
    }

    private func stringValue(_ v: RPCValue, convertNumbers: Bool) -> String? {
        switch v {
        case .string(let s): return s
        case .int(let i) where convertNumbers: return String(UInt64(bitPattern: Int64(i)))
        case .double(let d) where convertNumbers && transport == .jsonRPC:
            guard d.isFinite, abs(d) < 9.2e18 else { return nil }
            return String(UInt64(bitPattern: Int64(d.rounded(.towardZero))))
        default: return nil
        }
    }

    private func doubleValue(_ v: RPCValue) -> Double? {
        switch (transport, v) {
        case (_, .double(let d)): return d
        case (_, .int(let i)): return Double(i)
        case (.jsonRPC, .bool(let b)): return b ? 1 : 0
        case (.jsonRPC, _): return 0
        default: return nil
        }
    }
}
