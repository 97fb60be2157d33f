import Testing

@Test func placeholderIntegrationTests() { #expect(1 + 1 == 2) }
