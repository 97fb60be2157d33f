import Testing

@Test func placeholderKamcon() { #expect(1 + 1 == 2) }
