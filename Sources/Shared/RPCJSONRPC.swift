import Foundation

// JSON-RPC 2.0 messages as Kamailio's jsonrpcs module exchanges them (spec §4–§6), and the
// FIFO framing; the JSON values themselves are parsed and written in RPCJSON.swift.

// MARK: - JSON-RPC messages

/// A JSON-RPC `id` as jsonrpcs handles it (spec §6.1).
public enum JSONRPCID: Equatable, Hashable, Sendable {
    /// A numeric integer id (kamctl uses its pid).
    case int(Int)
    /// A non-integral numeric id.
    case double(Double)
    /// A string id, echoed as a string.
    case string(String)
    /// `null`; jsonrpcs echoes it as the number 0.
    case null

    /// The id as a JSON value.
    public var value: RPCValue {
        switch self {
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .null: return .null
        }
    }

    /// The id a reply carries: `null` (or any non-number, non-string) is echoed as 0.
    public var echoed: JSONRPCID {
        if case .null = self { return .int(0) }
        return self
    }

    /// Reads an id from a JSON value; types jsonrpcs cannot echo map to `.null`.
    public init(_ value: RPCValue) {
        switch value {
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        default: self = .null
        }
    }
}

/// Why a JSON-RPC request was refused. jsonrpcs reacts per transport: the FIFO drops the
/// request silently, the datagram socket answers an empty successful result (spec §4.2,
/// §5) — so each case keeps the id it could read.
public enum JSONRPCRequestError: Error, Equatable, Sendable {
    /// Not JSON.
    case parse(RPCJSONParseError)
    /// A JSON array (batch); not supported.
    case batchNotSupported
    /// JSON, but not an object.
    case notAnObject
    /// `jsonrpc` missing or not `"2.0"`.
    case badVersion(id: JSONRPCID?)
    /// `method` missing or not a string.
    case missingMethod(id: JSONRPCID?)
    /// `params` neither an array nor an object.
    case badParams(id: JSONRPCID?)

    /// The request id, when one could be read.
    public var id: JSONRPCID? {
        switch self {
        case .parse, .batchNotSupported, .notAnObject: return nil
        case .badVersion(let id), .missingMethod(let id), .badParams(let id): return id
        }
    }
}

/// A JSON-RPC 2.0 request, with jsonrpcs's `reply_name` extension for the FIFO.
public struct JSONRPCRequest: Equatable, Sendable {
    /// The RPC method (`core.uptime`).
    public var method: String
    /// Positional parameters; object params keep only their order (spec §6.1).
    public var params: [RPCValue]
    /// The id; nil when the member is absent (the reply then has no `id`).
    public var id: JSONRPCID?
    /// FIFO only: bare file name of the reply FIFO in the server's reply directory.
    public var replyName: String?

    /// Creates a request.
    public init(method: String, params: [RPCValue] = [], id: JSONRPCID? = nil, replyName: String? = nil) {
        self.method = method
        self.params = params
        self.id = id
        self.replyName = replyName
    }

    /// The request as a JSON object in kamctl's member order.
    public var jsonValue: RPCValue {
        var members = [RPCMember("jsonrpc", "2.0"), RPCMember("method", .string(method))]
        if !params.isEmpty { members.append(RPCMember("params", .array(params))) }
        if let replyName { members.append(RPCMember("reply_name", .string(replyName))) }
        if let id { members.append(RPCMember("id", id.value)) }
        return .struct(members)
    }

    /// The request text; `.spaced` gives kamctl's exact form (without its final newline).
    public func encoded(style: RPCJSONStyle = .spaced) -> [UInt8] {
        RPCJSONWriter.encode(jsonValue, style: style)
    }

    /// Decodes one request document, validating it as jsonrpcs does.
    public static func decode(_ bytes: some Sequence<UInt8>) throws(JSONRPCRequestError) -> JSONRPCRequest {
        let value: RPCValue
        do {
            value = try RPCJSONParser.parse(bytes)
        } catch {
            throw .parse(error)
        }
        return try decode(value)
    }

    /// Validates an already parsed document.
    public static func decode(_ value: RPCValue) throws(JSONRPCRequestError) -> JSONRPCRequest {
        if case .array = value { throw .batchNotSupported }
        guard case .struct = value else { throw .notAnObject }
        let id = value["id"].map(JSONRPCID.init)
        guard value["jsonrpc"] == .string("2.0") else { throw .badVersion(id: id) }
        guard case .string(let method)? = value["method"] else { throw .missingMethod(id: id) }
        var params: [RPCValue] = []
        switch value["params"] {
        case nil: break
        case .array(let list)?: params = list
        case .struct(let members)?: params = members.map(\.value)
        default: throw .badParams(id: id)
        }
        return JSONRPCRequest(method: method, params: params, id: id, replyName: value["reply_name"]?.stringValue)
    }

    /// jsonrpcs's reply-FIFO name check (spec §4.2): no `.`, `/` or `\`, and the full
    /// path must stay below 128 bytes; otherwise the method runs but no reply is written.
    public static func isAcceptableReplyName(_ name: String, replyDirectory: String = "/tmp/") -> Bool {
        !name.isEmpty && !name.contains(where: { $0 == "." || $0 == "/" || $0 == "\\" })
            && replyDirectory.utf8.count + name.utf8.count < 128
    }
}

/// Why a JSON-RPC reply could not be read.
public enum JSONRPCReplyError: Error, Equatable, Sendable {
    /// Not JSON.
    case parse(RPCJSONParseError)
    /// JSON, but not a reply object with `result` or `error`.
    case notAReply
}

/// A JSON-RPC 2.0 reply.
public struct JSONRPCReply: Equatable, Sendable {
    /// Either a result or an error.
    public enum Outcome: Equatable, Sendable {
        /// A successful result.
        case result(RPCValue)
        /// An error object.
        case error(RPCFault)
    }

    /// What the call produced.
    public var outcome: Outcome
    /// The id member; nil means the reply has none (request without id, batch).
    public var id: JSONRPCID?

    /// Creates a reply.
    public init(_ outcome: Outcome, id: JSONRPCID?) {
        self.outcome = outcome
        self.id = id
    }

    /// A reply to `request`, applying the id echo rule (`null` → 0, absent → absent).
    public init(_ outcome: Outcome, replyingTo request: JSONRPCRequest) {
        self.init(outcome, id: request.id?.echoed)
    }

    /// The `result` for a method's top-level values (spec §6.2): array-returning methods
    /// get all of them as an array; the others keep only the last, or `{}` when none.
    public static func result(of values: [RPCValue], arrayReturning: Bool) -> RPCValue {
        if arrayReturning { return .array(values) }
        return values.last ?? .struct([])
    }

    /// The reply as a JSON object: `jsonrpc`, `result`/`error`, `id`. Faults go through
    /// `RPCFault.jsonRPCError` so reserved codes carry their fixed texts.
    public var jsonValue: RPCValue {
        var members = [RPCMember("jsonrpc", "2.0")]
        switch outcome {
        case .result(let value):
            members.append(RPCMember("result", value))
        case .error(let fault):
            let e = fault.jsonRPCError
            members.append(RPCMember("error", .object(["code": .int(e.code), "message": .string(e.message)])))
        }
        if let id { members.append(RPCMember("id", id.value)) }
        return .struct(members)
    }

    /// The reply text, pretty by default and without a trailing newline, as jsonrpcs
    /// writes it.
    public func encoded(style: RPCJSONStyle = .pretty) -> [UInt8] {
        RPCJSONWriter.encode(jsonValue, style: style)
    }

    /// The reply text as a string.
    public func text(style: RPCJSONStyle = .pretty) -> String {
        String(decoding: encoded(style: style), as: UTF8.self)
    }

    /// Decodes a reply document.
    public static func decode(_ bytes: some Sequence<UInt8>) throws(JSONRPCReplyError) -> JSONRPCReply {
        let value: RPCValue
        do {
            value = try RPCJSONParser.parse(bytes)
        } catch {
            throw .parse(error)
        }
        guard case .struct = value else { throw .notAReply }
        let id = value["id"].map(JSONRPCID.init)
        if let error = value["error"] {
            guard case .int(let code)? = error["code"] else { throw .notAReply }
            let message = error["message"]?.stringValue ?? ""
            return JSONRPCReply(.error(RPCFault(code: code, message: message)), id: id)
        }
        guard let result = value["result"] else { throw .notAReply }
        return JSONRPCReply(.result(result), id: id)
    }
}

// MARK: - FIFO framing

/// Splits the bytes read from the jsonrpcs server FIFO into documents, the way Kamailio
/// does (spec §4.2): a document ends when the braces of its first `{` balance, braces in
/// `"…"` or `'…'` strings do not count (a quote after a backslash does not toggle), and
/// blanks around documents are trimmed. Bytes before the first `{` are *kept* and stick
/// to the document — Kamailio does that too, which is why garbage poisons the next
/// request.
public struct JSONRPCFIFOFramer: Sendable {
    /// Kamailio's per-document limit.
    public static let defaultMaxDocumentSize = 8191

    /// What the framer found.
    public enum Event: Equatable, Sendable {
        /// A complete document (possibly with garbage in front, which then fails to parse).
        case document([UInt8])
        /// A document grew beyond the limit; its bytes were dropped.
        case tooLong
    }

    private let maxDocumentSize: Int
    private var current: [UInt8] = []
    private var depth = 0
    private var quote: UInt8?
    private var escaped = false
    private var discarding = false

    /// Creates a framer.
    public init(maxDocumentSize: Int = defaultMaxDocumentSize) {
        self.maxDocumentSize = maxDocumentSize
    }

    /// Feeds bytes; returns the documents (or overflows) they completed, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        var events: [Event] = []
        for b in bytes {
            if discarding {
                // The rest of an overlong document: follow its braces, keep nothing.
                if track(b) { reset() }
                continue
            }
            if current.isEmpty && RPCJSONParser.isBlank(b) { continue }
            current.append(b)
            if track(b) {
                while let last = current.last, RPCJSONParser.isBlank(last) { current.removeLast() }
                events.append(.document(current))
                reset()
            } else if current.count > maxDocumentSize {
                events.append(.tooLong)
                if depth > 0 {
                    // Keep the brace and quote state to find where this document ends.
                    current.removeAll(keepingCapacity: true)
                    discarding = true
                } else {
                    reset()
                }
            }
        }
        return events
    }

    /// Updates the string and brace state; true when a top-level `{` just closed.
    private mutating func track(_ b: UInt8) -> Bool {
        if let q = quote {
            if escaped {
                escaped = false
            } else if b == UInt8(ascii: "\\") {
                escaped = true
            } else if b == q {
                quote = nil
            }
            return false
        }
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = b
        case UInt8(ascii: "{"): depth += 1
        case UInt8(ascii: "}") where depth > 0:
            depth -= 1
            return depth == 0
        default: break
        }
        return false
    }

    private mutating func reset() {
        current.removeAll(keepingCapacity: true)
        depth = 0
        quote = nil
        escaped = false
        discarding = false
    }
}
