import Glibc

/// Unbuffered writes to stdout/stderr for the non-interactive modes.
enum AppOutput {
    /// Writes `text` to stdout.
    static func out(_ text: String) { write(1, text) }

    /// Writes `text` and a newline to stderr.
    static func error(_ text: String) { write(2, text + "\n") }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress?.advanced(by: off), $0.count - off) }
            if n <= 0 { return }
            off += n
        }
    }
}
