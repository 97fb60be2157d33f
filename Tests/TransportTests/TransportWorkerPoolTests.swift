#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import Testing
@testable import SIPTransport

@Suite("Worker pool")
struct TransportWorkerPoolTests {
    @Test("jobs of one lane run in order, one at a time, while other lanes use other workers")
    func laneOrdering() {
        let log = Mutex<[String]>([])
        let running = Mutex<[UInt64: Int]>([:])
        let overlap = Atomic<Bool>(false)
        let blockLaneOne = Atomic<Bool>(true)
        let pool = TransportWorkerPool<(UInt64, Int)>(capacity: 100, run: { job, _ in
            let (lane, n) = job
            let concurrent = running.withLock { r -> Int in r[lane, default: 0] += 1; return r[lane, default: 0] }
            if concurrent > 1 { overlap.store(true, ordering: .relaxed) }
            // Lane 1's first job waits until lane 2 finished: lane 2 must not queue behind it.
            while lane == 1, n == 0, blockLaneOne.load(ordering: .acquiring) { usleep(500) }
            log.withLock { $0.append("\(lane):\(n)") }
            running.withLock { $0[lane, default: 0] -= 1 }
        }, onSpace: {})
        #expect(pool.start(count: 3, firstWorkerIndex: 0))
        for n in 0..<5 { #expect(pool.submit((1, n), lane: 1)) }
        for n in 0..<5 { #expect(pool.submit((2, n), lane: 2)) }
        #expect(waitUntil { log.withLock { $0.count } == 5 })
        #expect(log.withLock { $0 } == (0..<5).map { "2:\($0)" })
        blockLaneOne.store(false, ordering: .releasing)
        #expect(waitUntil { log.withLock { $0.count } == 10 })
        #expect(log.withLock { Array($0.suffix(5)) } == (0..<5).map { "1:\($0)" })
        let overlapped = overlap.load(ordering: .relaxed)
        #expect(!overlapped)
        pool.stop()
    }

    @Test("a full queue refuses jobs and calls onSpace once it drained")
    func capacityAndOnSpace() {
        let gate = Atomic<Bool>(false)
        let spaced = Atomic<Int>(0)
        let pool = TransportWorkerPool<Int>(capacity: 2, run: { _, _ in
            while !gate.load(ordering: .acquiring) { usleep(500) }
        }, onSpace: { spaced.wrappingAdd(1, ordering: .relaxed) })
        #expect(pool.start(count: 1, firstWorkerIndex: 7))
        #expect(pool.submit(1, lane: 1))
        #expect(pool.submit(2, lane: 2))
        #expect(!pool.submit(3, lane: 3))
        let spacedEarly = spaced.load(ordering: .relaxed)
        #expect(spacedEarly == 0)
        gate.store(true, ordering: .releasing)
        #expect(waitUntil { spaced.load(ordering: .relaxed) == 1 })
        #expect(waitUntil { pool.pendingCount == 0 })
        pool.stop()
    }

    @Test("the ring buffer keeps FIFO order across growth and wrap-around")
    func ring() {
        var r = TransportRing<Int>()
        var expected: [Int] = []
        var next = 0
        for round in 0..<50 {
            for _ in 0..<(round % 7 + 1) { r.append(next); expected.append(next); next += 1 }
            for _ in 0..<(round % 5) { #expect(r.popFirst() == expected.removeFirst()) }
        }
        while let x = r.popFirst() { #expect(x == expected.removeFirst()) }
        #expect(expected.isEmpty && r.isEmpty)
    }
}
