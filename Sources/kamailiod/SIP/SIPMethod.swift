/// A request method (RFC 3261 §7.1, §27.4). Methods are case-sensitive tokens, so
/// `invite` is not INVITE: it is `.other` and must never start an INVITE transaction.
public enum SIPMethod: Sendable, Hashable, CaseIterable {
    /// The methods of RFC 3261 and its extensions (3262 PRACK, 3265 SUBSCRIBE/NOTIFY,
    /// 3311 UPDATE, 3428 MESSAGE, 3515 REFER, 3903 PUBLISH, 6086 INFO).
    case invite, ack, bye, cancel, register, options, info, update, prack
    case subscribe, notify, publish, message, refer
    /// Any other method token; its text is in `SIPMessage.methodBytes`.
    case other

    /// Classifies a method token by exact (case-sensitive) comparison.
    public init<C: Collection<UInt8>>(bytes: C) {
        // Switch on length first so most lookups compare one candidate.
        func eq(_ lit: StaticString) -> Bool {
            lit.withUTF8Buffer { $0.elementsEqual(bytes) }
        }
        switch bytes.count {
        case 3: self = eq("ACK") ? .ack : eq("BYE") ? .bye : .other
        case 4: self = eq("INFO") ? .info : .other
        case 5: self = eq("PRACK") ? .prack : eq("REFER") ? .refer : .other
        case 6: self = eq("INVITE") ? .invite : eq("CANCEL") ? .cancel : eq("UPDATE") ? .update
            : eq("NOTIFY") ? .notify : .other
        case 7: self = eq("OPTIONS") ? .options : eq("PUBLISH") ? .publish : eq("MESSAGE") ? .message : .other
        case 8: self = eq("REGISTER") ? .register : .other
        case 9: self = eq("SUBSCRIBE") ? .subscribe : .other
        default: self = .other
        }
    }

    /// The method token as written on the wire (`INVITE`); `.other` has no fixed name.
    public var name: String {
        switch self {
        case .invite: "INVITE"
        case .ack: "ACK"
        case .bye: "BYE"
        case .cancel: "CANCEL"
        case .register: "REGISTER"
        case .options: "OPTIONS"
        case .info: "INFO"
        case .update: "UPDATE"
        case .prack: "PRACK"
        case .subscribe: "SUBSCRIBE"
        case .notify: "NOTIFY"
        case .publish: "PUBLISH"
        case .message: "MESSAGE"
        case .refer: "REFER"
        case .other: ""
        }
    }
}
