import Foundation
import Testing
@testable import kamcon

/// man/kamcon.1 must document every flag, subcommand, screen and key: the tags of its
/// `.TP` paragraphs are read back and compared with the option parser's usage and the
/// command table, so a key or flag added without documentation fails here.
@Suite("kamcon(1) documents the console")
struct KamconManPageTests {
    /// The man page's text with the troff font and character escapes resolved.
    static let page: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("man/kamcon.1")
        var text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        for (escape, plain) in [("\\fB", ""), ("\\fR", ""), ("\\fI", ""), ("\\-", "-"), ("\\(ua", "↑"), ("\\(da", "↓"),
                                ("\\(en", " "), ("\\(aq", "'")] {
            text = text.replacingOccurrences(of: escape, with: plain)
        }
        return text
    }()

    /// The words of every `.TP` tag line (the line after `.TP`), macro names dropped.
    static let tagWords: Set<String> = {
        let lines = page.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var words = Set<String>()
        for (i, line) in lines.enumerated() where line == ".TP" && i + 1 < lines.count {
            let tag = lines[i + 1].split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            // `.BR` alternates fonts between quoted pieces: `F1 ", " ? ", " h`.
            for w in tag.split(whereSeparator: { " \"()".contains($0) }) {
                words.insert(w.count > 1 && w.hasSuffix(",") ? String(w.dropLast()) : String(w))
            }
        }
        return words
    }()

    @Test("every option of the usage text has its own paragraph")
    func options() {
        let flags = AppOptions.usage.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("-") else { return nil }
            return t.split(separator: " ").first.map(String.init)
        }
        #expect(flags.count >= 8)
        for f in flags + ["-x", "rpc", "dump"] { #expect(Self.tagWords.contains(f), "kamcon.1 has no paragraph for \(f)") }
        for what in ["transactions", "dialogs", "registrations", "statistics"] {
            #expect(Self.page.contains("dump") && Self.page.contains(what))
        }
    }

    @Test("every screen and every key of the command table is documented")
    func screensAndKeys() {
        for s in AppScreen.allCases {
            #expect(Self.page.contains("\(s.title)\n") || Self.page.contains("\(s.title)\""), "screen \(s.title)")
            #expect(Self.tagWords.contains("F\(s.functionKey)") && Self.tagWords.contains(String(s.letter)), "keys of \(s.title)")
        }
        for binding in AppKeyTable.bindings {
            for key in binding.keys {
                #expect(Self.tagWords.contains(key.name), "kamcon.1 does not list the key \(key.name) (\(binding.help))")
            }
        }
    }
}
