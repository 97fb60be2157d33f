import Foundation
import Testing
@testable import BuiltinModules

/// The engineering rule that man/kamailiod.cfg.5 documents every config keyword: each
/// module's functions and modparams must be named there (in bold, as the page writes
/// them), so a new one cannot land undocumented.
@Suite("man page coverage")
struct ManPageCoverageTests {
    static let page: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("man/kamailiod.cfg.5"), encoding: .utf8)) ?? ""
    }()

    /// True when `name` appears on the page as a word of its own (roff escapes `-` as `\-`).
    static func documented(_ name: String) -> Bool {
        let escaped = name.replacingOccurrences(of: "-", with: "\\-")
        for form in Set([name, escaped]) {
            var from = page.startIndex
            while let r = page.range(of: form, range: from..<page.endIndex) {
                let after = r.upperBound == page.endIndex ? " " : page[r.upperBound]
                let wordChar: (Character) -> Bool = { $0.isLetter || $0.isNumber || $0 == "_" }
                // a font change (\fB, \fI) right before the name is a word boundary too
                let head = page[page.startIndex..<r.lowerBound]
                let fontChange = head.hasSuffix("\\fB") || head.hasSuffix("\\fI") || head.hasSuffix("\\fR")
                let before = head.last ?? " "
                if fontChange || !wordChar(before), !wordChar(after) { return true }
                from = r.upperBound
            }
        }
        return false
    }

    @Test("every module function, modparam and pseudo-variable is named in man/kamailiod.cfg.5")
    func everyKeyword() {
        #expect(!Self.page.isEmpty)
        let modules = BuiltinModuleSet(runtime: CoreRuntime(log: { _, _, _ in }, logEnabled: { _ in false })).all
        var missing: [String] = []
        for m in modules {
            for f in m.functions where !Self.documented(f.name) { missing.append("\(m.name): function \(f.name)") }
            for p in m.parameters where !Self.documented(p.name) { missing.append("\(m.name): modparam \(p.name)") }
            for v in m.pseudoVariables where !Self.documented(v.name) { missing.append("\(m.name): $\(v.name)") }
        }
        #expect(missing.isEmpty, "undocumented:\n\(missing.joined(separator: "\n"))")
    }
}
