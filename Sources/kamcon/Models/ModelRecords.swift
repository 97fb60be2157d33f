import Shared

/// Helpers that turn RPC replies from either transport into flat records.
///
/// binrpc gives one top-level struct per item (`dlg.list`, `tm.list` per hash bucket) and
/// repeated member names for arrays; JSON-RPC gives one array of objects with one-member
/// wrappers. Everything is first shaped like binrpc (`RPCValue.binrpcShaped`), so each
/// parser below handles one shape only (spec §7).
enum ModelRecords {
    /// The items of an array-returning method: each top-level struct (binrpc) or each
    /// element of the top-level array (JSON-RPC), as member lists.
    static func items(_ values: [RPCValue]) -> [[RPCMember]] {
        var out: [[RPCMember]] = []
        for value in values {
            switch value {
            case .array(let elements):
                for e in elements {
                    if case .struct(let m) = e.binrpcShaped { out.append(m) }
                }
            case .struct:
                if case .struct(let m) = value.binrpcShaped { out.append(m) }
            default:
                break
            }
        }
        return out
    }

    /// Every string value of a reply, flattened (`stats.get_statistics`: binrpc sends one
    /// top-level string per counter, JSON-RPC one array of strings).
    static func strings(_ values: [RPCValue]) -> [String] {
        var out: [String] = []
        func walk(_ v: RPCValue) {
            switch v {
            case .string(let s): out.append(s)
            case .array(let a): a.forEach(walk)
            case .struct(let m): m.forEach { walk($0.value) }
            default: break
            }
        }
        values.forEach(walk)
        return out
    }

    /// Splits a member list into records wherever the first member's name comes back:
    /// Kamailio's `tm.list` merges transactions that share a hash bucket into one struct
    /// with repeated keys (spec §9 item 1).
    static func splitRepeating(_ members: [RPCMember]) -> [[RPCMember]] {
        guard let first = members.first?.name else { return members.isEmpty ? [] : [members] }
        var out: [[RPCMember]] = []
        var current: [RPCMember] = []
        for m in members {
            if m.name == first, !current.isEmpty {
                out.append(current)
                current = []
            }
            current.append(m)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// The first member called `name`.
    static func value(_ members: [RPCMember], _ name: String) -> RPCValue? {
        members.first(where: { $0.name == name })?.value
    }

    /// A member as text (numbers printed as kamcmd does).
    static func string(_ members: [RPCMember], _ name: String) -> String? {
        guard let v = value(members, name) else { return nil }
        switch v {
        case .struct, .array: return nil
        default: return RPCTextRender.scalarText(v)
        }
    }

    /// A member as an integer: ints, whole doubles (binrpc carries 64-bit values as ×1000
    /// doubles) and numeric strings all count.
    static func int(_ members: [RPCMember], _ name: String) -> Int? {
        guard let v = value(members, name) else { return nil }
        return int(v)
    }

    /// A value as an integer, when it is one.
    static func int(_ v: RPCValue) -> Int? {
        switch v {
        case .int(let i): return i
        case .double(let d): return d.isFinite && abs(d) < 9e15 ? Int(d) : nil
        case .string(let s): return Int(s.trimmingCharacters(in: .whitespaces))
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// A member as a floating number.
    static func double(_ members: [RPCMember], _ name: String) -> Double? {
        guard let v = value(members, name) else { return nil }
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    /// The members of a nested container called `name` (empty when absent).
    static func children(_ members: [RPCMember], _ name: String) -> [RPCMember] {
        if case .struct(let m) = value(members, name) { return m }
        return []
    }

    /// Kamailio's placeholder for unset usrloc strings.
    static func unsetToEmpty(_ s: String?) -> String {
        guard let s, s != "[not set]", s != "<null string>" else { return "" }
        return s
    }
}

import Foundation
