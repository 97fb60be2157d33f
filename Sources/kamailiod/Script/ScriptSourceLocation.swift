/// A position in an original script file (before preprocessing), used by every
/// AST node, compiled action and error so that messages, traces and breakpoints
/// name the line the operator wrote, not a line of the preprocessed text.
public struct ScriptSourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The file as it was named when loaded (or the include path as resolved).
    public var file: String
    /// 1-based line in `file`.
    public var line: Int
    /// 1-based column in the line (after define substitution, so it may drift
    /// slightly to the right of the original when a define was expanded before it).
    public var column: Int

    /// Creates a location; `column` defaults to 1 for whole-line diagnostics.
    public init(file: String, line: Int, column: Int = 1) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:col`, the prefix of every script diagnostic.
    public var description: String { "\(file):\(line):\(column)" }
}

/// The origin of one line of preprocessed text: which file and line it came from.
struct ScriptLineOrigin: Sendable, Hashable {
    /// File the line came from.
    var file: String
    /// 1-based line number in that file.
    var line: Int
}
