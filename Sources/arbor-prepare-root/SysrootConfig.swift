// Whether the sysroot is to be read-only, and whether the configuration asks for something this
// version cannot do. Two sources:
//
// * SYSROOT/ostree/repo/config, read the way ostree-prepare-root 2022.7 reads it (a line that
//   starts with `[sysroot]` opens the group, any other line starting with `[` closes it, and a
//   line in it starting with `readonly=true` turns it on). The same crude scan keeps the
//   mounts identical to 2022.7's for any config file.
// * prepare-root.conf in the initramfs (`/etc/ostree/prepare-root.conf`, else
//   `/usr/lib/ostree/prepare-root.conf`; ostree 2023.6+), a key file: `[sysroot] readonly`
//   and `[composefs] enabled`. composefs is not implemented, so enabling it is an error
//   rather than a silently different boot.

/// The read-only and composefs settings that shape the mounts.
struct SysrootConfig {
    /// Mount the physical root read-only (with writable /etc and stateroot var binds).
    var readOnly: Bool

    /// The initramfs configuration files, first found wins (ostree's order).
    static let prepareRootConfigPaths = ["/etc/ostree/prepare-root.conf", "/usr/lib/ostree/prepare-root.conf"]

    /// Reads both sources for the canonical sysroot path `sysroot`.
    static func load(sysroot: String) throws -> SysrootConfig {
        var readOnly = false
        for path in prepareRootConfigPaths {
            guard let text = FileSystem.readConfig(path) else { continue }
            let file = KeyFile(text)
            if let enabled = file.value(group: "composefs", key: "enabled")?.lowercased(),
               ["yes", "true", "1", "signed", "verity"].contains(enabled) {
                throw PrepareRootError.unsupported("\(path): composefs.enabled=\(enabled) is not supported by arbor-prepare-root")
            }
            if let value = file.value(group: "sysroot", key: "readonly") {
                readOnly = value == "true" || value == "1"
            }
            break
        }
        if !readOnly {
            let repoConfig = Bootlink.join(sysroot, ["ostree", "repo", "config"])
            readOnly = FileSystem.readConfig(repoConfig).map(repoConfigSaysReadOnly) ?? false
        }
        return SysrootConfig(readOnly: readOnly)
    }

    /// ostree-prepare-root 2022.7's scan of the repository config for `[sysroot] readonly=true`.
    static func repoConfigSaysReadOnly(_ text: [UInt8]) -> Bool {
        var inSysroot = false
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: Array("[sysroot]".utf8)) {
                inSysroot = true
            } else if line.first == UInt8(ascii: "[") {
                inSysroot = false
            } else if inSysroot && line.starts(with: Array("readonly=true".utf8)) {
                return true
            }
        }
        return false
    }
}
