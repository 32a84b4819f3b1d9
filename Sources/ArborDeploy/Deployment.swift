// A deployment (spec §9): the checkout `ostree/deploy/STATEROOT/deploy/CHECKSUM.SERIAL`, its
// `.origin`, and the boot entry that names it through the bootlink
// `ostree/boot.B.S/STATEROOT/BOOTCSUM/BOOTSERIAL -> ../../../deploy/STATEROOT/deploy/CHECKSUM.SERIAL`.
import ArborCore

/// One deployment, as listed in the boot entries (index 0 is the default).
public struct Deployment: Sendable, Equatable {
    /// The stateroot ("osname") it belongs to.
    public var stateroot: String
    /// The commit checked out.
    public var checksum: Checksum
    /// Distinguishes deployments of the same commit (0, 1, ...).
    public var serial: Int
    /// SHA-256 (hex) of the kernel, initramfs and devicetree.
    public var bootChecksum: String
    /// The serial among deployments sharing stateroot and boot checksum (the bootlink's last component).
    public var bootSerial: Int = 0
    /// Kernel arguments, including `ostree=` where it stands.
    public var kernelArgs: [String]
    /// `linux` path of the boot entry, relative to /boot.
    public var linux: String
    /// `initrd` path of the boot entry, if any.
    public var initrd: String?
    /// `devicetree` path of the boot entry, if any.
    public var devicetree: String?
    /// The origin file, when present.
    public var origin: Origin?
    /// The boot entry it was read from (nil for a new deployment).
    public var entry: BootEntry?
    /// The file name of that entry in the current `loader.N/entries` (nil for a new deployment).
    public var entryFileName: String?
    /// The boot counter its entry carries (nil: uncounted, good). Carried over every rewrite.
    public var bootCounter: BootCounter?

    /// How the boot loader regards its entry.
    public var bootAssessment: BootAssessment { BootAssessment(bootCounter) }

    /// `CHECKSUM.SERIAL`, the deployment directory's name.
    public var name: String { "\(checksum.hex).\(serial)" }

    /// The deployment directory relative to the sysroot.
    public var relativePath: String { "ostree/deploy/\(stateroot)/deploy/\(name)" }

    /// The bootlink target, relative to the bootlink itself.
    public var bootlinkTarget: String { "../../../deploy/\(stateroot)/deploy/\(name)" }

    /// Whether the origin pins this deployment.
    public var isPinned: Bool { origin?.isPinned ?? false }

    /// Kernel arguments without `ostree=`.
    public var userKernelArgs: [String] { KernelArgs.withoutOstree(kernelArgs) }

    /// Parses a deployment directory name `CHECKSUM.SERIAL`.
    public static func parseName(_ name: String) -> (Checksum, Int)? {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let hex = name[..<dot], serialText = name[name.index(after: dot)...]
        guard isChecksumString(hex), let c = Checksum(hex: hex), !serialText.isEmpty,
              serialText.allSatisfy({ $0.isASCII && $0.isNumber }), let s = Int(serialText) else { return nil }
        return (c, s)
    }

    /// Whether two deployments are the same checkout.
    public func sameCheckout(_ other: Deployment) -> Bool {
        stateroot == other.stateroot && checksum == other.checksum && serial == other.serial
    }

    /// Whether `name` may be a stateroot: one path component of safe characters.
    public static func isValidStateroot(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != "..", !name.hasPrefix(".") else { return false }
        return name.unicodeScalars.allSatisfy { c in
            (c.value >= 0x30 && c.value <= 0x39) || (c.value >= 0x41 && c.value <= 0x5a) ||
                (c.value >= 0x61 && c.value <= 0x7a) || c == "-" || c == "_" || c == "."
        }
    }
}
