extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (load-time argument parsing).
    var trimmedWS: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
