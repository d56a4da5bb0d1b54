// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "vmplan",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vmplan", targets: ["vmplan"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        // libvirt's C API, from the system (apt: libvirt-dev).
        .systemLibrary(
            name: "CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        // glibc's <malloc.h>, for the command's memory tuning.
        .systemLibrary(name: "CMalloc"),
        // Resource model, YAML loading with file:line:column diagnostics, validation, units.
        .target(
            name: "Spec",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Recorded state in SQLite: resources, runs, journal, lock; copying a state between backends
        // (SHA-256 of its tables from swift-crypto, which postgres-nio builds anyway).
        .target(
            name: "State",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The same recorded state in PostgreSQL, for teams and CI runners that share it. Only this
        // target (and the CLI) links postgres-nio; State and its SQLite users stay free of it.
        .target(
            name: "PostgresState",
            dependencies: [
                "State", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Hypervisor protocol and the libvirt driver (KVM flavour).
        .target(
            name: "Drivers",
            dependencies: ["Spec", "CLibvirt", .product(name: "Logging", package: "swift-log")]
        ),
        // Pure planner, journaled applier.
        .target(
            name: "Reconciler",
            dependencies: ["Spec", "State", "Drivers", .product(name: "Logging", package: "swift-log")]
        ),
        // Plans, apply outcomes and tables as text for people; no I/O.
        .target(
            name: "Reports",
            dependencies: ["Spec", "State", "Drivers", "Reconciler"]
        ),
        // The command-line interface.
        .executableTarget(
            name: "vmplan",
            dependencies: [
                "Spec", "State", "PostgresState", "Drivers", "Reconciler", "Reports",
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the integration tests: the private libvirt host, virsh, subprocesses.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SpecTests", dependencies: ["Spec"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StateTests", dependencies: ["State", "PostgresState"]),
        .testTarget(name: "DriversTests", dependencies: ["Drivers", "Spec", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ReconcilerTests", dependencies: ["Reconciler", "Spec", "State", "Drivers"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Reconciler", "Spec", "Drivers"]),
        .testTarget(name: "vmplanTests", dependencies: ["State", "PostgresState", "Spec", "TestSupport"]),
    ]
)
