import Testing
@testable import ScriptEngine

@Suite("Module state table")
struct ScriptStateTableTests {
    final class A {}
    final class B {}

    @Test("states are found by type, replaced in place and removed by storing nil")
    func setGetRemove() {
        var t = ScriptStateTable()
        let a = A(), b = B(), a2 = A()
        #expect(t[ObjectIdentifier(A.self)] == nil)
        t[ObjectIdentifier(A.self)] = a
        t[ObjectIdentifier(B.self)] = b
        #expect(t[ObjectIdentifier(A.self)] === a)
        #expect(t[ObjectIdentifier(B.self)] === b)
        t[ObjectIdentifier(A.self)] = a2
        #expect(t[ObjectIdentifier(A.self)] === a2)
        t[ObjectIdentifier(A.self)] = nil
        #expect(t[ObjectIdentifier(A.self)] == nil)
        #expect(t[ObjectIdentifier(B.self)] === b)
    }

    @Test("a copied table shares the states, and changes to the copy stay in the copy")
    func copySemantics() {
        var t = ScriptStateTable()
        let a = A()
        t[ObjectIdentifier(A.self)] = a
        var c = t
        c[ObjectIdentifier(B.self)] = B()
        #expect(c[ObjectIdentifier(A.self)] === a)
        #expect(t[ObjectIdentifier(B.self)] == nil)
    }
}
