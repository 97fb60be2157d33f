import Foundation
import Testing
@testable import ScriptEngine

/// Helpers shared by the script engine tests.
enum ScriptTestSupport {
    /// Directory of the fixture scripts next to this file.
    static var fixtures: String {
        (#filePath as NSString).deletingLastPathComponent + "/Fixtures"
    }

    /// A fixture's path.
    static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// The real scripts the daemon must load: copies of the harness reference script
    /// and of the benchmark scripts.
    static let sharedScripts = ["ref.cfg", "bench-register.cfg", "bench-stateful.cfg", "bench-stateless.cfg"]

    /// Parses `text` named `t.cfg`, returning the tree or the error text.
    static func parse(_ text: String, defines: [String] = []) -> Result<ScriptSyntaxTree, ScriptError> {
        do {
            return .success(try ScriptFrontEnd.parse(text: text, name: "t.cfg", defines: defines))
        } catch {
            return .failure(error)
        }
    }

    /// The error description of parsing `text`, or nil if it parsed.
    static func parseError(_ text: String, defines: [String] = []) -> String? {
        if case .failure(let e) = parse(text, defines: defines) { return e.description }
        return nil
    }

    /// Preprocesses `text` and returns the non-empty output lines with their origins.
    static func preprocess(_ text: String, defines: [String] = [],
                           files: [String: String] = [:]) throws -> [(String, String, Int)] {
        let reader: ScriptFileReader = { path in files[path].map { Array($0.utf8) } }
        var pp = ScriptPreprocessor(defines: defines, reader: reader)
        let out = try pp.run(bytes: Array(text.utf8), name: "main.cfg")
        return zip(out.lines, out.origins).compactMap { line, origin in
            let s = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            return s.isEmpty ? nil : (s, origin.file, origin.line)
        }
    }

    /// Writes files into a fresh temporary directory and returns its path.
    static func tempDir(_ files: [String: String]) throws -> String {
        let dir = NSTemporaryDirectory() + "kamailiod-script-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, text) in files {
            let path = dir + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return dir
    }
}
