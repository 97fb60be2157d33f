import Testing

@Test func placeholderShared() { #expect(1 + 1 == 2) }
