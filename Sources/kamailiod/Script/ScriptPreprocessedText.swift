/// `kamailiod --cfg-print`: the configuration after the preprocessor (defines substituted,
/// `#!ifdef` sections chosen, includes inserted), as the parser sees it.
extension ScriptFrontEnd {
    /// Preprocesses the file at `path`, or `text` (named `name`) when `path` is nil.
    public static func preprocessedText(path: String?, text: String, name: String,
                                        defines: [String] = []) throws(ScriptError) -> String {
        var pp = ScriptPreprocessor(defines: defines)
        let src = if let path { try pp.run(path: path) } else { try pp.run(bytes: Array(text.utf8), name: name) }
        var out: [UInt8] = []
        for line in src.lines {
            out += line
            if line.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
