import Testing

@Test func placeholderControl() { #expect(1 + 1 == 2) }
