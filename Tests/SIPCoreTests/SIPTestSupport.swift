import Foundation
@testable import SIPCore

/// Loads fixtures by a path computed from this file, so Package.swift needs no
/// resource declarations and bytes are read exactly as stored.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func bytes(_ relative: String) -> [UInt8] {
        let url = directory.appendingPathComponent(relative)
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return [UInt8](data)
    }

    struct Row: Sendable, CustomStringConvertible {
        let file: String
        let valid: Bool
        let acceptUDP: [String]
        var description: String { file }

        /// True when a liberal (non-rejecting) outcome is acceptable: the set allows
        /// a 2xx (or any), so parsing may succeed.
        var mayBeAccepted: Bool {
            acceptUDP.contains { $0 == "any" || $0 == "2xx" || $0 == "1xx" }
                || (acceptUDP.contains("3xx") && acceptUDP.contains("6xx"))
        }
    }

    static let manifest: [Row] = {
        let text = String(decoding: bytes("MANIFEST.tsv"), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard cols.count >= 5 else { return nil }
            return Row(file: String(cols[0]), valid: cols[1] == "valid",
                       acceptUDP: cols[4].split(separator: ",").map(String.init))
        }
    }()
}

/// Parses a message from text with CRLF line ends written as `\n` in the literal.
func message(_ text: String) throws -> SIPMessage {
    try SIPMessage(bytes: crlf(text))
}

/// Turns `\n` into CRLF.
func crlf(_ text: String) -> [UInt8] { SIPBytes.wireFormat(text) }

/// The bytes as a String.
func str(_ s: some Sequence<UInt8>) -> String { String(decoding: Array(s), as: UTF8.self) }

/// Parses and validates; returns the error or nil.
func rejection(_ bytes: [UInt8]) -> SIPParseError? {
    do {
        let m = try SIPMessage(bytes: bytes)
        try m.validateForProcessing()
        return nil
    } catch {
        return error
    }
}

let sampleInvite = """
INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com:5062;branch=z9hG4bK776asdhds;rport
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Type: application/sdp
Content-Length: 12

v=0
o=x 1 1
"""
