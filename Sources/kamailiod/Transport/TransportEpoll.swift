#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Linux epoll, bound through the C ABI.
///
/// Swift's Glibc module map leaves out `<sys/epoll.h>`, and a C shim target would need a
/// change to Package.swift; so the three calls are looked up once with `dlsym` and called
/// through `@convention(c)` pointers (the exact C calling convention), and `epoll_event`
/// is read and written at its ABI offsets. A `CTransportShims` module can replace this file
/// without touching the loop.
struct TransportEpoll: Sendable {
    private typealias CreateFn = @convention(c) (Int32) -> Int32
    private typealias ControlFn = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitFn = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private let createFn: CreateFn
    private let controlFn: ControlFn
    private let waitFn: WaitFn

    /// `EPOLL_CTL_*` operations (<sys/epoll.h>, stable Linux ABI).
    enum Operation: Int32 { case add = 1, delete = 2, modify = 3 }

    /// Event bits (<sys/epoll.h>).
    /// EPOLLIN.
    static let readable: UInt32 = 0x001
    /// EPOLLERR.
    static let error: UInt32 = 0x008
    /// EPOLLHUP.
    static let hangUp: UInt32 = 0x010

    /// `struct epoll_event` is packed on x86-64 (12 bytes) and naturally aligned elsewhere.
    #if arch(x86_64)
    /// Bytes per event in a `wait` buffer.
    static let eventSize = 12
    private static let dataOffset = 4
    #else
    /// Bytes per event in a `wait` buffer.
    static let eventSize = 16
    private static let dataOffset = 8
    #endif

    /// Looks the calls up in the C library; nil where epoll does not exist.
    init?() {
        guard let handle = dlopen(nil, RTLD_NOW),
              let create = dlsym(handle, "epoll_create1"),
              let control = dlsym(handle, "epoll_ctl"),
              let wait = dlsym(handle, "epoll_wait") else { return nil }
        createFn = unsafeBitCast(create, to: CreateFn.self)
        controlFn = unsafeBitCast(control, to: ControlFn.self)
        waitFn = unsafeBitCast(wait, to: WaitFn.self)
    }

    /// `epoll_create1(EPOLL_CLOEXEC)`; the descriptor or -1 with errno set.
    func create() -> Int32 { createFn(O_CLOEXEC) }  // EPOLL_CLOEXEC == O_CLOEXEC

    /// Adds, changes or removes `fd`, reporting readability with `tag` as user data.
    /// Returns false with errno set on failure.
    func control(_ epfd: Int32, _ op: Operation, fd: Int32, tag: UInt64) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { ev in
            ev.storeBytes(of: Self.readable, toByteOffset: 0, as: UInt32.self)
            ev.storeBytes(of: tag, toByteOffset: Self.dataOffset, as: UInt64.self)
            return controlFn(epfd, op.rawValue, fd, ev.baseAddress) == 0
        }
    }

    /// Waits up to `timeoutMillis` for events into `buffer` (room for `capacity` events).
    func wait(_ epfd: Int32, into buffer: UnsafeMutableRawPointer, capacity: Int, timeoutMillis: Int32) -> Int32 {
        waitFn(epfd, buffer, Int32(capacity), timeoutMillis)
    }

    /// The event bits and tag of event `i` in a `wait` buffer.
    static func event(_ buffer: UnsafeMutableRawPointer, _ i: Int) -> (events: UInt32, tag: UInt64) {
        let base = i * eventSize
        return (buffer.loadUnaligned(fromByteOffset: base, as: UInt32.self),
                buffer.loadUnaligned(fromByteOffset: base + dataOffset, as: UInt64.self))
    }
}
