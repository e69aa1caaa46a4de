// swift-tools-version:6.0
// Rewind: a replayable command log and diagnostics engine for Redis-compatible data.
//
// Module boundaries (see docs/ARCHITECTURE.md):
//   CZstd, CCRC32C  -> RewindLog       (opaque entries; knows nothing of commands)
//   RewindRESP      (pure Swift)       RESP2/RESP3 values, parser, encoder
//   RewindEngine    -> RewindRESP      keyspace and commands; no files, sockets or clocks
//   RewindReplay    -> Engine, Log, RESP  replay, import/export, digests
//   RewindCLI       -> all + ArgumentParser; `rewind` is a one-line main.
//
// Define REWIND_INTERNAL_CHECKS (swift build -Xswiftc -DREWIND_INTERNAL_CHECKS) to compile the
// O(n) `_checkInvariants()` verifications into data structures.
import PackageDescription

let package = Package(
    name: "Rewind",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "rewind", targets: ["rewind"]),
        .library(name: "RewindLog", targets: ["RewindLog"]),
        .library(name: "RewindRESP", targets: ["RewindRESP"]),
        .library(name: "RewindEngine", targets: ["RewindEngine"]),
        .library(name: "RewindReplay", targets: ["RewindReplay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        .target(name: "CCRC32C"),
        .target(name: "CFutex"),
        .target(name: "CSHA1"),
        .target(name: "CSpawn"),
        .target(name: "CFormat"),
        .target(name: "RewindSpawn", dependencies: ["CSpawn"]),
        .target(name: "RewindRESP"),
        .target(name: "RewindLog", dependencies: ["CZstd", "CCRC32C", "CFutex"]),
        .target(
            name: "RewindEngine",
            dependencies: [
                "RewindRESP", "CFutex", "CSHA1", "CFormat",
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(name: "RewindReplay", dependencies: ["RewindLog", "RewindRESP", "RewindEngine", "RewindSpawn", "CFormat"]),
        .target(
            name: "RewindServer",
            dependencies: [
                // RewindReplay: the base of an online compaction (BGREWRITEAOF) is written as
                // `rewind compact` writes it.
                "RewindEngine", "RewindLog", "RewindRESP", "RewindReplay",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RewindCLI",
            dependencies: [
                "RewindLog", "RewindRESP", "RewindEngine", "RewindReplay", "RewindServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "rewind", dependencies: ["RewindCLI"]),
        .target(name: "RewindBenchSupport", dependencies: ["RewindLog", "RewindReplay", "RewindSpawn"], path: "tools/bench-support"),
        .executableTarget(name: "rewind-bench", dependencies: ["RewindLog", "RewindReplay", "RewindRESP"], path: "tools/rewind-bench"),
        .executableTarget(name: "rewind-replay-bench", dependencies: ["RewindBenchSupport", "RewindLog", "RewindReplay", "RewindEngine"], path: "tools/replay-bench"),
        .executableTarget(
            name: "rewind-bisect-bench",
            dependencies: ["RewindBenchSupport", "RewindLog", "RewindReplay", "RewindEngine", "RewindServer", .product(name: "Logging", package: "swift-log")],
            path: "tools/bisect-bench"),
        .executableTarget(name: "rewind-compact-bench", dependencies: ["RewindBenchSupport", "RewindLog", "RewindReplay", "RewindSpawn"], path: "tools/compact-bench"),
        .executableTarget(name: "rewind-load-bench", dependencies: ["RewindBenchSupport", "RewindReplay"], path: "tools/load-bench"),
        .executableTarget(name: "rewind-rdb-bench", dependencies: ["RewindBenchSupport", "RewindLog", "RewindReplay", "RewindEngine"], path: "tools/rdb-bench"),
        .executableTarget(name: "rewind-digest-bench", dependencies: ["RewindBenchSupport", "RewindReplay", "RewindEngine"], path: "tools/digest-bench"),
        .executableTarget(name: "rewind-engine-bench", dependencies: ["RewindEngine", "RewindLog"], path: "tools/engine-bench"),
        .executableTarget(name: "rewind-append-child", dependencies: ["RewindLog"], path: "tools/append-child"),
        .executableTarget(name: "rewind-faults", dependencies: ["RewindLog", "RewindSpawn"], path: "tools/faults"),
        .target(
            name: "RewindTestSupport",
            dependencies: ["RewindLog", "RewindRESP", "RewindSpawn"],
            path: "Tests/RewindTestSupport"
        ),
        .testTarget(name: "RewindLogTests", dependencies: ["RewindLog", "RewindTestSupport", "CCRC32C"]),
        .testTarget(name: "RewindRESPTests", dependencies: ["RewindRESP", "RewindTestSupport"]),
        .testTarget(
            name: "RewindEngineTests",
            dependencies: [
                "RewindEngine", "RewindRESP", "RewindTestSupport", "CSHA1",
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .testTarget(
            name: "RewindReplayTests",
            dependencies: ["RewindReplay", "RewindLog", "RewindRESP", "RewindTestSupport"]
        ),
        .testTarget(
            name: "RewindServerTests",
            dependencies: [
                "RewindServer", "RewindEngine", "RewindLog", "RewindRESP", "RewindReplay", "RewindTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "RewindCLITests", dependencies: ["RewindCLI", "RewindLog", "RewindTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
