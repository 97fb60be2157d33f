import Testing
@testable import kamailiod

@Suite("Idle heap trim")
struct DaemonIdleTrimTests {
    @Test("trims on the first quiet ticks after traffic, never during it or before any")
    func schedule() {
        final class Count { var n = 0 }
        let released = Count()
        var trim = DaemonIdleTrim { released.n += 1 }
        // nothing received yet: nothing to give back
        let before = [trim.tick(messages: 0), trim.tick(messages: 0)]
        #expect(before == [false, false])
        // traffic: no trim while the count moves
        let busy = [trim.tick(messages: 500), trim.tick(messages: 900)]
        #expect(busy == [false, false])
        // quiet: a trim on each of the next ticks, then none until traffic again
        let quiet = (0..<(DaemonIdleTrim.trimsPerQuietPeriod + 3)).map { _ in trim.tick(messages: 900) }
        #expect(quiet == Array(repeating: true, count: DaemonIdleTrim.trimsPerQuietPeriod) + [false, false, false])
        let again = [trim.tick(messages: 901), trim.tick(messages: 901)]
        #expect(again == [false, true])
        // the modules let go of their spare table storage before every trim, and only then
        #expect(released.n == DaemonIdleTrim.trimsPerQuietPeriod + 1)
    }
}
