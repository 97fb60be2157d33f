import Testing

@Test func placeholderSIPCoreTests() { #expect(1 + 1 == 2) }
