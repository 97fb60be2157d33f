#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Shared

/// Why a control endpoint could not be opened.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What failed, with the path or address and the system's reason.
    public var description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }

    /// `what: <strerror>` for a failed system call.
    static func system(_ what: String, _ e: Int32 = errno) -> ControlError {
        ControlError("\(what): \(RPCSocketIO.errnoText(e))")
    }
}

/// Permission bits and owner of a socket or FIFO file (ctl `mode`/`user`/`group`,
/// jsonrpcs `fifo_mode`/`fifo_user`/...).
public struct ControlFileAccess: Sendable, Equatable {
    /// Permission bits (ctl: 0600, jsonrpcs: 0660).
    public var mode: UInt32
    /// Owner: a user name or numeric id; nil keeps the daemon's.
    public var user: String?
    /// Group: a group name or numeric id; nil keeps the daemon's.
    public var group: String?

    /// Creates an access description.
    public init(mode: UInt32, user: String? = nil, group: String? = nil) {
        self.mode = mode
        self.user = user
        self.group = group
    }
}

/// POSIX plumbing shared by the three control servers.
enum ControlSocketIO {
    /// `SOCK_STREAM` and `SOCK_DGRAM` as `Int32`, as the RPC clients spell them.
    static var streamType: Int32 { RPCSocketIO.streamType }
    static var datagramType: Int32 { RPCSocketIO.datagramType }

    /// `SOCK_CLOEXEC` as an `Int32` (Glibc imports it as an enum).
    static var cloexecFlag: Int32 {
        #if canImport(Glibc)
        Int32(SOCK_CLOEXEC.rawValue)
        #else
        SOCK_CLOEXEC
        #endif
    }

    /// Marks a descriptor close-on-exec (for calls without a flag argument).
    static func setCloseOnExec(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// The text of a NUL-terminated C buffer.
    static func text(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Refuses to replace anything but a stale socket or FIFO: a typo in a path must not
    /// delete a regular file or a directory.
    static func removeStale(_ path: String, kind: mode_t) throws(ControlError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == kind else {
            throw ControlError("\(path) exists and is not a \(kind == S_IFIFO ? "FIFO" : "socket"); not replacing it")
        }
        unlink(path)
    }

    /// A temporary name next to `path`, so that `rename` can publish the finished file
    /// atomically, already carrying its mode and owner (no window where it has the umask's).
    static func temporarySibling(_ path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let name = ".\(base).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        return dir.isEmpty ? name : dir + "/" + name
    }

    /// Applies mode and owner to a file.
    static func applyAccess(_ path: String, _ access: ControlFileAccess) throws(ControlError) {
        guard chmod(path, mode_t(access.mode)) == 0 else { throw .system("chmod \(path)") }
        if access.user != nil || access.group != nil {
            let uid = try access.user.map { u throws(ControlError) in try userID(u) } ?? uid_t.max
            let gid = try access.group.map { g throws(ControlError) in try groupID(g) } ?? gid_t.max
            guard chown(path, uid, gid) == 0 else { throw .system("chown \(path)") }
        }
    }

    /// A user name or number as a uid.
    static func userID(_ name: String) throws(ControlError) -> uid_t {
        if let n = uid_t(name) { return n }
        guard let pw = getpwnam(name) else { throw ControlError("unknown user \(name)") }
        return pw.pointee.pw_uid
    }

    /// A group name or number as a gid.
    static func groupID(_ name: String) throws(ControlError) -> gid_t {
        if let n = gid_t(name) { return n }
        guard let gr = getgrnam(name) else { throw ControlError("unknown group \(name)") }
        return gr.pointee.gr_gid
    }

    /// Creates a Unix socket bound at `path` with `access`, listening when it is a stream
    /// socket. Bound under a temporary name, chmod/chown'ed, then renamed into place.
    static func unixSocket(path: String, type: Int32, access: ControlFileAccess) throws(ControlError) -> Int32 {
        try removeStale(path, kind: S_IFSOCK)
        let temp = temporarySibling(path)
        guard let (address, len) = RPCSocketIO.unixAddress(temp), RPCSocketIO.unixAddress(path) != nil else {
            throw ControlError("socket path too long: \(path)")
        }
        let fd = socket(AF_UNIX, type | cloexecFlag, 0)
        guard fd >= 0 else { throw .system("socket") }
        var addr = address
        do throws(ControlError) {
            let r = RPCSocketIO.withSockaddr(&addr) { bind(fd, $0, len) }
            guard r == 0 else { throw .system("bind \(path)") }
            defer { unlink(temp) }
            try applyAccess(temp, access)
            if type == streamType { guard listen(fd, 128) == 0 else { throw .system("listen \(path)") } }
            guard rename(temp, path) == 0 else { throw .system("rename to \(path)") }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Creates the FIFO at `path` with `access` (replacing a stale FIFO) and opens it
    /// read-write, so the server never sees end-of-file when a client closes its end.
    static func fifo(path: String, access: ControlFileAccess) throws(ControlError) -> Int32 {
        try removeStale(path, kind: S_IFIFO)
        let temp = temporarySibling(path)
        guard mkfifo(temp, 0o600) == 0 else { throw .system("mkfifo \(temp)") }
        do throws(ControlError) {
            try applyAccess(temp, access)
            guard rename(temp, path) == 0 else { throw .system("rename to \(path)") }
        } catch {
            unlink(temp)
            throw error
        }
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open \(path)") }
        return fd
    }

    /// A TCP listening or UDP socket bound to `host:port` (port 0 picks a free one).
    static func inetSocket(host: String, port: UInt16, type: Int32) throws(ControlError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let ai = list else {
            throw ControlError("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(ai) }
        let fd = socket(ai.pointee.ai_family, type | cloexecFlag, 0)
        guard fd >= 0 else { throw .system("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            let e = errno
            close(fd)
            throw .system("bind \(host):\(port)", e)
        }
        if type == streamType, listen(fd, 128) != 0 {
            let e = errno
            close(fd)
            throw .system("listen \(host):\(port)", e)
        }
        return fd
    }

    /// The port a socket is bound to (for `port 0` listeners and `ctl.listen`).
    static func boundPort(_ fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard r == 0 else { return 0 }
        return hostAndPort(storage).port
    }

    /// IP text and port of an inet address; ("", 0) for other families.
    static func hostAndPort(_ storage: sockaddr_storage) -> (host: String, port: UInt16) {
        var s = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(s.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &s) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
                    return (text(buffer), UInt16(bigEndian: sin.pointee.sin_port))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &s) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                    var a = sin.pointee.sin6_addr
                    inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
                    return (text(buffer), UInt16(bigEndian: sin.pointee.sin6_port))
                }
            }
        default:
            return ("", 0)
        }
    }

    /// Waits for input on `fd` or on the stop pipe; true when `fd` is readable (or hung
    /// up), false on timeout or stop. `timeout` in milliseconds, -1 for none.
    static func waitReadable(_ fd: Int32, stop: ControlStopSignal, timeout: Int32 = -1) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stop.readFD, events: Int16(POLLIN), revents: 0)]
        while true {
            let r = poll(&fds, 2, timeout)
            if r < 0 && errno == EINTR { continue }
            if r <= 0 || fds[1].revents != 0 { return false }
            return fds[0].revents != 0
        }
    }

    /// Writes all bytes within `timeout` seconds; a client that does not read its reply
    /// costs at most that long. Returns false when the bytes could not all be written.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], isSocket: Bool, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                let p = raw.baseAddress.map { $0 + offset }
                return isSocket ? send(fd, p, bytes.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                    : write(fd, p, bytes.count - offset)
            }
            if n > 0 {
                offset += n
                continue
            }
            guard n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return false }
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            guard left > 0 else { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&pfd, 1, left) == 0 { return false }
        }
        return true
    }

    /// Makes a descriptor non-blocking.
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Starts a named thread; the servers never run on SIP worker threads.
    static func startThread(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }
}

/// A self-pipe that wakes every poll of a server when it stops.
final class ControlStopSignal: Sendable {
    /// The end every server polls.
    let readFD: Int32
    /// The end `fire` writes.
    let writeFD: Int32

    /// A new non-blocking, close-on-exec pipe.
    init() throws(ControlError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .system("pipe") }
        for fd in fds {
            ControlSocketIO.setCloseOnExec(fd)
            ControlSocketIO.setNonBlocking(fd)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    /// Wakes all waiters, now and later (the byte is never read).
    func fire() {
        var b: UInt8 = 1
        _ = write(writeFD, &b, 1)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}
