/// Entry points of the front end (preprocess + parse), used by the loader and by tests.
public enum ScriptFrontEnd {
    /// Preprocesses and parses the file at `path`; `defines` are `-A` values
    /// (`NAME` or `NAME=VALUE`, a quoted VALUE being a string).
    public static func parse(path: String, defines: [String] = []) throws(ScriptError) -> ScriptSyntaxTree {
        var pp = ScriptPreprocessor(defines: defines)
        return try withFiles(try pp.run(path: path))
    }

    /// Preprocesses and parses in-memory text; `name` appears in locations and is the
    /// base for relative `include_file` paths.
    public static func parse(text: String, name: String = "<script>",
                             defines: [String] = []) throws(ScriptError) -> ScriptSyntaxTree {
        var pp = ScriptPreprocessor(defines: defines)
        return try withFiles(try pp.run(bytes: Array(text.utf8), name: name))
    }

    /// Parses `source` and records which files it came from.
    private static func withFiles(_ source: ScriptPreprocessedSource) throws(ScriptError) -> ScriptSyntaxTree {
        var tree = try ScriptParser.parse(source)
        var seen = Set<String>()
        for o in source.origins where seen.insert(o.file).inserted { tree.sourceFiles.append(o.file) }
        return tree
    }
}
