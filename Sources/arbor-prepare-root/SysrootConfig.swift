// Whether the sysroot is to be read-only, and whether the configuration asks for something this
// version cannot do. Two sources, read two different ways on purpose:
//
// * SYSROOT/ostree/repo/config, scanned exactly as ostree-prepare-root 2022.7 scans it (a line
//   that starts with `[sysroot]` opens the group, any other line starting with `[` closes it,
//   and a line in it starting with `readonly=true` turns it on; `readonly = true`, `True` or
//   `1` do not). Later ostree reads this file with GLib (g_key_file_get_boolean, errors taken
//   as false); the 2022.7 scan keeps the mounts identical to the 2022.7 reference for any
//   config. 2022.7 opens it with a plain fopen, which follows links anywhere and blocks on a
//   FIFO. Here it is found with PathWalk inside the sysroot (relative links that stay inside
//   are followed, as a legitimate layout may have them; absolute or escaping ones are not),
//   and read only when it is a regular file, opened O_NOFOLLOW|O_NONBLOCK. A config that is
//   missing, unreadable, not a regular file, or reached only by leaving the sysroot is
//   ignored (not read-only), as 2022.7 ignores one it cannot open, rather than failing the
//   boot: the file is shared by every deployment, so an error would leave no entry to fall
//   back to, and the key only hardens (whoever can plant a FIFO there can delete the line).
// * prepare-root.conf in the initramfs (`/etc/ostree/prepare-root.conf`, else
//   `/usr/lib/ostree/prepare-root.conf`; ostree 2023.6+), a GLib key file (KeyFile):
//   `[sysroot] readonly` (a strict boolean) and `[composefs] enabled`. It is part of the
//   initramfs image, so links are followed, but it is read only when it is a regular file; one
//   that cannot be read or parsed fails the boot with one error line, as ostree fails. composefs
//   is not implemented, so enabling it is an error rather than a silently different boot.

/// The read-only and composefs settings that shape the mounts.
struct SysrootConfig {
    /// Mount the physical root read-only (with writable /etc and stateroot var binds).
    var readOnly: Bool

    /// The initramfs configuration files, first found wins.
    static let prepareRootConfigPaths = ["/etc/ostree/prepare-root.conf", "/usr/lib/ostree/prepare-root.conf"]
    /// The largest configuration file read.
    static let maxConfigSize = 1 << 20

    /// Reads both sources for the canonical sysroot path `sysroot`.
    static func load(sysroot: String) throws -> SysrootConfig {
        var readOnly = false
        for path in prepareRootConfigPaths {
            guard let text = try FileSystem.readRegularFile(path, what: "the configuration", limit: maxConfigSize, followLinks: true) else {
                continue
            }
            let file = try KeyFile(text, path: path)
            try checkComposefs(file)
            readOnly = try file.boolean(group: "sysroot", key: "readonly") ?? false
            break
        }
        if !readOnly {
            readOnly = repoConfig(sysroot: sysroot).map(repoConfigSaysReadOnly) ?? false
        }
        return SysrootConfig(readOnly: readOnly)
    }

    /// `[composefs] enabled` as ostree reads it: `signed` or `verity` as is, else a tri-state
    /// (g_strstrip, then yes/true/1, no/false/0 or maybe). Throws when it asks for composefs
    /// (which Arbor does not do) or is none of those.
    static func checkComposefs(_ file: KeyFile) throws {
        guard let raw = file.value(group: "composefs", key: "enabled") else { return }
        let value = KeyFile.trimmedTrailing(raw)
        let enables = ["signed", "verity"].map { Array($0.utf8) }.contains(raw) || ["yes", "true", "1"].map { Array($0.utf8) }.contains(value)
        if enables {
            throw PrepareRootError.unsupported("\(file.path): composefs.enabled=\(Shown.bytes(raw)) is not supported by arbor-prepare-root")
        }
        guard ["no", "false", "0", "maybe"].map({ Array($0.utf8) }).contains(value) else {
            throw PrepareRootError.invalidConfig(path: file.path, line: file.entry(group: "composefs", key: "enabled")?.line ?? 0,
                                                 reason: "[composefs] enabled=\(Shown.bytes(raw)) is not yes, no, true, false, 1, 0, maybe, signed or verity")
        }
    }

    /// The content of SYSROOT/ostree/repo/config, nil when it is to be ignored (see above).
    static func repoConfig(sysroot: String) -> [UInt8]? {
        let relative = Array("ostree/repo/config".utf8)
        guard let found = try? PathWalk.resolve(root: Array(sysroot.utf8), path: relative, escapes: .refuse),
              FileSystem.isRegular(found.info), let path = BytePath.text(found.path) else { return nil }
        return (try? FileSystem.readRegularFile(path, what: "the repository configuration", limit: maxConfigSize, followLinks: false)) ?? nil
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
