import Testing

@Test func placeholderStorage() { #expect(1 + 1 == 2) }
