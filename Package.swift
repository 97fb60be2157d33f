// swift-tools-version:6.0
import PackageDescription

// The daemon's source tree (Sources/kamailiod) is split into library targets per
// layer so each layer is unit-testable and the benchmark executable can link them:
//   SIP/ -> SIPCore, Transport/ -> SIPTransport, Script/ -> ScriptEngine,
//   Modules/ -> BuiltinModules, and the rest (App/, Control/, Storage/) -> kamailiod.
// Release builds optimise across the layer targets: without it every generic helper of
// SIPCore (byte comparisons, scanners) runs unspecialised from the modules, through
// witness tables, on every message. LLVM's function merging is off: it folds the
// outlined copies of different structs into one that copies through runtime metadata,
// which made each copy of a parsed Via several times slower. Dynamic exclusivity checks
// are off in release only (about 60 per message, 10 % of a message's instructions);
// debug builds, which every test runs, keep them, so a violation still traps there,
// and the static checks apply to both.
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6),
                              .unsafeFlags(["-cross-module-optimization", "-Xfrontend", "-disable-llvm-merge-functions-pass",
                                            "-enforce-exclusivity=unchecked"],
                                           .when(configuration: .release))]

let package = Package(
    name: "kamailiod",
    products: [
        .executable(name: "kamailiod", targets: ["kamailiod"]),
        .executable(name: "kamcon", targets: ["kamcon"]),
    ],
    targets: [
        .target(name: "Shared", path: "Sources/Shared", swiftSettings: strict),
        .target(name: "SIPCore", path: "Sources/kamailiod/SIP", swiftSettings: strict),
        .target(name: "SIPTransport", dependencies: ["SIPCore", "COpenSSL"],
                path: "Sources/kamailiod/Transport", swiftSettings: strict),
        .target(name: "ScriptEngine", dependencies: ["SIPCore", "SIPTransport"],
                path: "Sources/kamailiod/Script", swiftSettings: strict),
        .target(name: "Control", dependencies: ["Shared"], path: "Sources/kamailiod/Control", swiftSettings: strict),
        .systemLibrary(name: "CNCursesW", path: "Sources/CNCursesW"),
        .systemLibrary(name: "CSQLite3", path: "Sources/CSQLite3"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .target(name: "Storage", dependencies: ["CSQLite3"], path: "Sources/kamailiod/Storage", swiftSettings: strict),
        .target(name: "BuiltinModules", dependencies: ["SIPCore", "SIPTransport", "ScriptEngine", "Shared", "Control",
                                                      "Storage", "COpenSSL"],
                path: "Sources/kamailiod/Modules", swiftSettings: strict),
        .executableTarget(
            name: "kamailiod",
            dependencies: ["Shared", "SIPCore", "SIPTransport", "ScriptEngine", "BuiltinModules", "Control", "Storage",
                           "CMalloc"],
            path: "Sources/kamailiod",
            exclude: ["SIP", "Transport", "Script", "Modules", "Control", "Storage"],
            swiftSettings: strict),
        .executableTarget(name: "kamcon", dependencies: ["Shared", "CNCursesW"], path: "Sources/kamcon",
                          swiftSettings: strict),
        .executableTarget(name: "kamailiod-bench",
                          dependencies: ["SIPCore", "ScriptEngine", "BuiltinModules"],
                          path: "Benchmarks/kamailiod-bench", swiftSettings: strict),
        .testTarget(name: "SIPCoreTests", dependencies: ["SIPCore"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "TransportTests", dependencies: ["SIPTransport"], swiftSettings: strict),
        .testTarget(name: "ScriptEngineTests", dependencies: ["ScriptEngine", "BuiltinModules"],
                    exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "BuiltinModulesTests", dependencies: ["BuiltinModules", "ScriptEngine", "SIPCore", "SIPTransport"],
                    swiftSettings: strict),
        .testTarget(name: "ControlTests", dependencies: ["Control", "Shared"], swiftSettings: strict),
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "KamconTests", dependencies: ["kamcon", "Shared", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: strict),
        .testTarget(name: "SharedTests", dependencies: ["Shared"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["kamailiod", "Shared", "TestSupport"],
                    swiftSettings: strict),
    ]
)
