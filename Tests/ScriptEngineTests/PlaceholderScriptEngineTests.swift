import Testing

@Test func placeholderScriptEngineTests() { #expect(1 + 1 == 2) }
