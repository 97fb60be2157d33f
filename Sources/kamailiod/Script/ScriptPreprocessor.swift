import Foundation

/// Preprocessed script text: one entry per output line, each with the file and line it
/// came from, so the lexer can report positions in the files the operator wrote.
struct ScriptPreprocessedSource: Sendable {
    /// Output lines without their line terminators; comments removed, defines expanded.
    var lines: [[UInt8]]
    /// `origins[i]` is where `lines[i]` came from.
    var origins: [ScriptLineOrigin]
}

/// Reads a file's bytes at load time; nil when the file does not exist or cannot be read.
typealias ScriptFileReader = @Sendable (String) -> [UInt8]?

/// The `#!` preprocessor of the kamailio.cfg language, run once over the file text.
///
/// Kamailio substitutes defines in its token stream; we do it on the text of each line
/// but only on whole identifiers outside quoted strings and outside pseudo-variables,
/// which gives the same result (`#!define X 2 + 3` makes `X * 2` equal 8, as in Kamailio,
/// because the substitution is textual). `#!subst` patterns apply to the whole line,
/// strings included, which is what `#!substdef` is used for.
struct ScriptPreprocessor {
    private struct Condition {
        var active: Bool
        var parentActive: Bool
        var taken: Bool
        var seenElse: Bool
        var location: ScriptSourceLocation
    }

    /// Defined names and their replacement text (empty for flag-only defines).
    private(set) var defines: [String: [UInt8]] = [:]
    private var substs: [ScriptRegexSubst] = []
    private var includeStack: [String] = []
    private var lines: [[UInt8]] = []
    private var origins: [ScriptLineOrigin] = []
    private let reader: ScriptFileReader

    /// Creates a preprocessor with command-line defines in `-A` form (`NAME`, `NAME=VAL`).
    init(defines commandLine: [String], reader: @escaping ScriptFileReader = ScriptPreprocessor.readFile) {
        self.reader = reader
        for spec in commandLine {
            let bytes = Array(spec.utf8)
            if let eq = bytes.firstIndex(of: UInt8(ascii: "=")) {
                defines[String(decoding: bytes[..<eq], as: UTF8.self)] = Array(bytes[(eq + 1)...])
            } else {
                defines[spec] = []
            }
        }
    }

    /// Reads a whole file with Foundation; load time only.
    static let readFile: ScriptFileReader = { path in
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return [UInt8](data)
    }

    /// Preprocesses the file at `path` and everything it includes.
    mutating func run(path: String) throws(ScriptError) -> ScriptPreprocessedSource {
        guard let bytes = reader(path) else {
            throw ScriptError("cannot open config file '\(path)'", at: nil)
        }
        return try run(bytes: bytes, name: path)
    }

    /// Preprocesses in-memory text; `name` is used in locations and to resolve includes.
    mutating func run(bytes: [UInt8], name: String) throws(ScriptError) -> ScriptPreprocessedSource {
        lines = []
        origins = []
        includeStack = [name]
        try process(bytes, file: name)
        return ScriptPreprocessedSource(lines: lines, origins: origins)
    }

    // MARK: - Files

    private mutating func emit(_ line: [UInt8], _ file: String, _ number: Int) {
        lines.append(line)
        origins.append(ScriptLineOrigin(file: file, line: number))
    }

    private mutating func process(_ bytes: [UInt8], file: String) throws(ScriptError) {
        let raw = Self.splitLines(bytes)
        var conds: [Condition] = []
        var text = ScriptTextState()
        var i = 0
        while i < raw.count {
            let number = i + 1
            var line = raw[i]
            i += 1
            let active = conds.last?.active ?? true
            let loc = ScriptSourceLocation(file: file, line: number, column: 1)
            if !text.inBlockComment, text.quote == 0, let (keyword, argStart) = Self.directive(in: line) {
                // a define may continue on following lines with a trailing backslash
                var continued: [Int] = []
                while keyword.hasSuffix("define") || keyword == "trydef",
                      line.last == UInt8(ascii: "\\"), i < raw.count {
                    line.removeLast()
                    line += raw[i]
                    continued.append(i + 1)
                    i += 1
                }
                let arg = Self.trim(Array(line[argStart...]))
                try directive(keyword, arg, active: active, conds: &conds, file: file, at: loc)
                emit([], file, number)
                for n in continued { emit([], file, n) }
                continue
            }
            if !active {
                emit([], file, number)
                continue
            }
            let quoteAtStart = text.quote
            let stripped = Self.stripComments(line, state: &text)
            if quoteAtStart == 0, let (kind, target) = Self.includeStatement(stripped) {
                try include(target, mandatory: kind == "include_file", from: file, at: loc)
                continue
            }
            var expanded = expand(stripped, depth: 0, quote: quoteAtStart)
            for s in substs { expanded = s.apply(to: expanded) }
            emit(expanded, file, number)
        }
        if let open = conds.last {
            throw ScriptError("missing #!endif for the #!ifdef/#!ifndef opened here", at: open.location)
        }
    }

    private mutating func include(_ target: String, mandatory: Bool, from file: String,
                                  at loc: ScriptSourceLocation) throws(ScriptError) {
        var path = target
        if !target.hasPrefix("/") {
            let dir = (file as NSString).deletingLastPathComponent
            let relative = dir.isEmpty ? target : dir + "/" + target
            path = reader(relative) != nil || reader(target) == nil ? relative : target
        }
        path = (path as NSString).standardizingPath
        guard let bytes = reader(path) else {
            if mandatory { throw ScriptError("cannot open included file '\(target)'", at: loc) }
            return
        }
        if includeStack.contains(path) {
            throw ScriptError("include loop: '\(target)' is already being included", at: loc)
        }
        includeStack.append(path)
        try process(bytes, file: path)
        includeStack.removeLast()
    }

    // MARK: - Directives

    private mutating func directive(_ keyword: String, _ arg: [UInt8], active: Bool,
                                    conds: inout [Condition], file: String,
                                    at loc: ScriptSourceLocation) throws(ScriptError) {
        let name = String(decoding: arg.prefix(while: Self.isIdentByte), as: UTF8.self)
        switch keyword {
        case "ifdef", "ifndef":
            guard !name.isEmpty else { throw ScriptError("expected a name after #!\(keyword)", at: loc) }
            let taken = (defines[name] != nil) == (keyword == "ifdef")
            conds.append(Condition(active: active && taken, parentActive: active, taken: taken,
                                   seenElse: false, location: loc))
        case "else":
            guard var c = conds.popLast(), !c.seenElse else {
                throw ScriptError("#!else without matching #!ifdef/#!ifndef", at: loc)
            }
            c.seenElse = true
            c.active = c.parentActive && !c.taken
            conds.append(c)
        case "endif":
            guard conds.popLast() != nil else {
                throw ScriptError("#!endif without matching #!ifdef/#!ifndef", at: loc)
            }
        case _ where !active:
            return
        case "define", "trydef", "redefine":
            guard !name.isEmpty else { throw ScriptError("expected a name after #!\(keyword)", at: loc) }
            var scratch = ScriptTextState()
            let value = Self.trim(Self.stripComments(Array(arg.dropFirst(name.utf8.count)), state: &scratch))
            if defines[name] != nil {
                if keyword == "trydef" { return }
                if keyword == "define" { throw ScriptError("'\(name)' is already defined", at: loc) }
            }
            defines[name] = value
        case "defenv", "defenvs", "trydefenv", "trydefenvs":
            // `#!defenv ID=VAR` or `#!defenv VAR`: define ID as the environment value
            // (quoted for the `s` forms); a missing variable leaves ID undefined
            let text = String(decoding: arg, as: UTF8.self)
            let parts = text.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard let id = parts.first, !id.isEmpty else { throw ScriptError("expected a name after #!\(keyword)", at: loc) }
            let variable = parts.count == 2 ? parts[1] : id
            guard let value = ProcessInfo.processInfo.environment[variable] else { return }
            if defines[id] != nil {
                if keyword.hasPrefix("try") { return }
                throw ScriptError("'\(id)' is already defined", at: loc)
            }
            defines[id] = keyword.hasSuffix("s") ? Array("\"\(value)\"".utf8) : Array(value.utf8)
        case "subst", "substdef", "substdefs":
            try addSubst(arg, define: keyword != "subst", quoteDefine: keyword == "substdefs", at: loc)
        case "include_file", "import_file":
            guard let (_, target) = Self.includeStatement(Array("\(keyword) ".utf8) + arg) else {
                throw ScriptError("expected a quoted file name after #!\(keyword)", at: loc)
            }
            try include(target, mandatory: keyword == "include_file", from: file, at: loc)
        default:
            // #!KAMAILIO, #!SER, #!MAXCOMPAT, #!ALL and unknown directives (5.6 has no
            // #!undef: Kamailio treats it as a comment) are ignored.
            return
        }
    }

    private mutating func addSubst(_ arg: [UInt8], define: Bool, quoteDefine: Bool,
                                   at loc: ScriptSourceLocation) throws(ScriptError) {
        var body = arg
        if let q = body.first, q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
            body.removeFirst()
            if let end = body.lastIndex(of: q) { body = Array(body[..<end]) }
        }
        let subst: ScriptRegexSubst
        do {
            subst = try ScriptRegexSubst(body)
        } catch {
            throw ScriptError(error.message, at: loc)
        }
        substs.append(subst)
        if define, subst.pattern.allSatisfy(Self.isIdentByte), !subst.pattern.isEmpty {
            let value = subst.replacement
            defines[String(decoding: subst.pattern, as: UTF8.self)] =
                quoteDefine ? [UInt8(ascii: "\"")] + value + [UInt8(ascii: "\"")] : value
        }
    }
}
