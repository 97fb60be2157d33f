import Glibc

/// A non-blocking self-pipe: the poller (and signal handlers) write a byte, the UI loop's
/// `poll()` wakes up; bursts of pokes coalesce into one redraw.
final class AppWakePipe: Sendable {
    /// Read end (polled by the UI).
    let readFD: Int32
    /// Write end.
    let writeFD: Int32

    /// Creates the pipe; nil if the system refuses.
    init?() {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    /// Wakes the UI.
    func poke() {
        var b: UInt8 = 1
        _ = write(writeFD, &b, 1)
    }

    /// Empties the pipe.
    func drain() {
        var buf = [UInt8](repeating: 0, count: 256)
        while read(readFD, &buf, buf.count) > 0 {}
    }

    /// Waits until stdin has input, the pipe is poked, or `milliseconds` pass.
    func wait(milliseconds: Int32) {
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, milliseconds)
    }
}
