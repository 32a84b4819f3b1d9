// swift-tools-version:6.0
import PackageDescription

// Each function in its own section, so that the linker can place the code commands run
// together (see `symbolOrder`) and drop what nothing calls.
let functionSections: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-function-sections"])]

// lld's packed relative relocations (DT_RELR, glibc 2.36+) shrink the relocation table the
// loader reads at every start from about 1 MB to a few KB. The symbol order (written by
// scripts/symbol-order.py from a profile of every command) puts the ~1 MB of functions that
// commands run at the start of the code instead of spread over 10 MB of runtime, Foundation
// and arbor: the kernel maps 64 KB around each page touched, so that halves resident code.
let symbolOrder = Context.packageDirectory + "/Sources/arbor/symbol-order.txt"
let linkFlags = ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                 "-Xlinker", "--symbol-ordering-file=" + symbolOrder, "-Xlinker", "--no-warn-symbol-ordering"]

let package = Package(
    name: "Arbor",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "arbor", targets: ["arbor"]),
        .executable(name: "arbor-prepare-root", targets: ["arbor-prepare-root"]),
        .library(name: "ArborCore", targets: ["ArborCore"]),
        .library(name: "ArborDeploy", targets: ["ArborDeploy"]),
        .library(name: "ArborRemote", targets: ["ArborRemote"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, wrapped thinly; each names its Debian provider.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libdeflate compresses archive objects several times faster than zlib (checksums do not
        // depend on compression; any raw deflate stream is a valid .filez payload).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // libarchive (Debian: libarchive-dev), loaded with dlopen on first use: only tarball import
        // and export need it, and it maps a dozen compression and XML libraries at start.
        .target(name: "CArchive"),
        // Kernel interfaces Swift cannot call directly (variadic fcntl/ioctl, renameat2).
        .target(name: "CArborSystem"),
        .target(
            name: "ArborCore",
            dependencies: ["CArchive", "COpenSSL", "CZlib", "CDeflate", "CArborSystem"],
            swiftSettings: functionSections
        ),
        // libcurl (Debian: libcurl4-openssl-dev for the headers; at run time libcurl3-gnutls, else
        // libcurl4): HTTP/1.1 keep-alive and HTTP/2 multiplexing for
        // pull, loaded with dlopen on first use (it brings TLS, Kerberos, LDAP... to every start).
        .target(name: "CArborCurl"),
        .target(
            name: "ArborRemote",
            dependencies: ["ArborCore", "CArborCurl"],
            swiftSettings: functionSections
        ),
        .target(
            name: "ArborDeploy",
            dependencies: ["ArborCore", "CArborSystem"],
            swiftSettings: functionSections
        ),
        .executableTarget(
            name: "arbor",
            dependencies: [
                "ArborCore",
                "ArborDeploy",
                "ArborRemote",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["symbol-order.txt"],
            swiftSettings: functionSections,
            linkerSettings: [.unsafeFlags(linkFlags, .when(platforms: [.linux]))]
        ),
        // arbor-prepare-root runs in an initramfs or as PID 1 before any library is reachable, so
        // it is one fully static executable: Glibc only (no Foundation). Its C part has what
        // Swift cannot call (pivot_root, reboot(RB_AUTOBOOT)) and what the static runtime would
        // otherwise read from a /proc that is not mounted yet (argv, its own path).
        .target(name: "CArborPrepareRoot"),
        .executableTarget(
            name: "arbor-prepare-root",
            dependencies: ["CArborPrepareRoot"],
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(platforms: [.linux]))]
        ),
        .testTarget(
            name: "ArborCoreTests",
            dependencies: ["ArborCore", "ArborDeploy"]
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: ["ArborCore"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
