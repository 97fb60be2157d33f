/// An RPC fault: a numeric code and a text, exactly as Kamailio sends them.
///
/// binrpc carries it as a type-3 packet (INT code + STR message, spec §3.7); JSON-RPC as
/// an `error` object (spec §6.5). The constructors below produce Kamailio 5.6.3's exact
/// texts, because clients (kamcmd, kamctl's awk filters, kamcli) match on them.
public struct RPCFault: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The fault code the method chose (400, 404, 481, 500, 606 ...).
    public var code: Int
    /// The fault text.
    public var message: String

    /// Creates a fault with an arbitrary code and text (method-defined faults).
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// `"<code> - <message>"`, the way kamcmd prints it after `error: `.
    public var description: String { "\(code) - \(message)" }

    // MARK: binrpc (ctl) faults

    /// Unknown method over binrpc: `500 command <name> not found`.
    public static func commandNotFound(_ method: String) -> RPCFault {
        RPCFault(code: 500, message: "command \(method) not found")
    }

    /// A corrupt binrpc header or a packet that is not a request; sent with cookie 0,
    /// after which the server closes the connection.
    public static let corruptedPacket = RPCFault(code: 400, message: "bad request: corrupted packet")

    /// A request whose header is fine but whose body could not be read.
    public static func badRequest(_ reason: String) -> RPCFault {
        RPCFault(code: 400, message: "bad request: \(reason)")
    }

    /// A request whose first record (the method name) could not be read.
    public static func badRequestMethod(_ reason: String) -> RPCFault {
        RPCFault(code: 400, message: "bad request method: \(reason)")
    }

    /// What a server-side parameter scan expected.
    public enum ExpectedType: String, Sendable {
        /// An INT record.
        case integer
        /// A STR record.
        case string
        /// A DOUBLE record.
        case double
    }

    /// Why a parameter scan failed, with Kamailio's wording.
    public enum ScanFailure: String, Sendable {
        /// The request has fewer parameters than the method reads.
        case endOfPacket = "end of packet encountered"
        /// The record has another type than the method reads.
        case typeMismatch = "record doesn't match type"
    }

    /// A binrpc parameter scan fault; `index` counts parameters from 0 (spec §3.7):
    /// `400 error at parameter 1: expected string type but end of packet encountered`.
    public static func parameter(_ index: Int, expected: ExpectedType, _ failure: ScanFailure) -> RPCFault {
        RPCFault(code: 400,
                 message: "error at parameter \(index): expected \(expected.rawValue) type but \(failure.rawValue)")
    }

    /// Methods that need delayed replies (`tm.t_uac_wait`) over binrpc.
    public static let asyncUnsupported =
        RPCFault(code: 600, message: "Reply wait/async mode not supported by this rpc transport")

    // MARK: JSON-RPC (jsonrpcs) faults

    /// Unknown method over JSON-RPC: code 500 (not -32601), text `Method Not Found`.
    public static let methodNotFound = RPCFault(code: 500, message: "Method Not Found")

    /// `ctl.who` / `ctl.connections` asked over JSON-RPC.
    public static let binrpcOnly = RPCFault(code: 606, message: "rpc available only over binrpc (ctl)")

    /// Delayed-reply methods over JSON-RPC.
    public static let jsonAsyncUnsupported = RPCFault(code: 500, message: "internal error: failed to create context")

    /// The `error` object jsonrpcs writes for this fault (spec §6.5): code 0 becomes
    /// -32000, and the reserved JSON-RPC codes always carry their fixed texts.
    public var jsonRPCError: RPCFault {
        let jsonCode = code == 0 ? -32000 : code
        if let fixed = RPCFault.reservedJSONRPCTexts[jsonCode] {
            return RPCFault(code: jsonCode, message: fixed)
        }
        return RPCFault(code: jsonCode, message: message)
    }

    /// JSON-RPC 2.0's reserved codes and the texts jsonrpcs uses for them.
    public static let reservedJSONRPCTexts: [Int: String] = [
        -32700: "Parse Error",
        -32600: "Invalid Request",
        -32601: "Method Not Found",
        -32602: "Invalid Parameters",
        -32603: "Internal Error",
        -32000: "Execution Error",
    ]
}
