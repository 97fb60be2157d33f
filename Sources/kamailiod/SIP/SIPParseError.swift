/// Why a message (or one of its parts) could not be parsed or accepted.
///
/// Each error carries the status code a server answers with, following Kamailio:
/// malformed input is `400 Bad Request` with a short reason appended to the reason
/// phrase (`400 Bad Request - Missing Call-ID`), oversize input is `513 Message Too
/// Large` (RFC 3261 §21.5.14). A caller that cannot reply (no Via, garbage) drops.
public struct SIPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Response status to use if the message is answered (400, 413, 513...).
    public let statusCode: Int
    /// Short human text, suitable after `Bad Request - ` in a reason phrase.
    public let reason: String
    /// Byte offset in the message near which the problem was found, when known.
    public let offset: Int?

    /// Creates an error; `statusCode` defaults to 400.
    public init(_ reason: String, status: Int = 400, offset: Int? = nil) {
        self.statusCode = status
        self.reason = reason
        self.offset = offset
    }

    /// Reason phrase for a reply, as Kamailio's sanity/parser replies look:
    /// `Bad Request - Missing Call-ID` or `Message Too Large`.
    public var replyReasonPhrase: String {
        switch statusCode {
        case 513: return "Message Too Large"
        case 413: return "Request Entity Too Large"
        case 414: return "Request-URI Too Long"
        case 505: return "Version Not Supported"
        default: return "Bad Request - " + reason
        }
    }

    /// `400 Missing Call-ID (at 123)`.
    public var description: String {
        var s = "\(statusCode) \(reason)"
        if let offset { s += " (at \(offset))" }
        return s
    }

    // Common errors, named once so callers and tests agree on the texts.
    static let messageTooLarge = SIPParseError("Message too large", status: 513)
    static let tooManyHeaders = SIPParseError("Too many header fields", status: 513)
    static let emptyMessage = SIPParseError("Empty message")
    static func missing(_ header: String) -> SIPParseError { SIPParseError("Missing " + header) }
    static func bad(_ header: String, offset: Int? = nil) -> SIPParseError {
        SIPParseError("Malformed " + header, offset: offset)
    }
}
