// The command line of arbor-prepare-root:
//
//     arbor-prepare-root [--cmdline-file=FILE] [--no-var] [--switch-root] [SYSROOT]
//     arbor-prepare-root --help | --version
//
// Words are raw bytes, compared as bytes, and handed on to /sbin/init unchanged.
//
// As PID 1 the process must never exit (the kernel panics), and without an initramfs the kernel
// hands init whatever it did not understand on its own command line, `--help` or `-h`
// included. So as PID 1 without --switch-root (`/` is the physical root) only `--no-var` and
// `--cmdline-file=FILE` are options; every other word goes to /sbin/init, and SYSROOT is `/`.
// As PID 1 with --switch-root (an initramfs's init exec'd it) the command line is the
// initramfs's own, parsed as usual, except that --help and --version are errors (which reboot)
// rather than texts followed by an exit.

/// What the user asked for.
struct Options {
    /// What to do.
    enum Action {
        /// Prepare the root (the normal case).
        case prepare
        /// Print the usage text.
        case help
        /// Print the version.
        case version
    }

    /// How the words are read.
    enum Mode {
        /// Not PID 1: every option, SYSROOT, --help and --version.
        case normal
        /// PID 1 without an initramfs: two options, everything else is for /sbin/init.
        case pid1
        /// PID 1 exec'd by an initramfs with --switch-root: as normal, without --help/--version.
        case initramfsPid1
    }

    /// What to do.
    var action: Action = .prepare
    /// Where the physical root is mounted.
    var sysroot = "/sysroot"
    /// Where to read the kernel command line from.
    var commandLineFile = "/proc/cmdline"
    /// Whether `--cmdline-file` replaced /proc/cmdline (then /proc is never mounted for it).
    var commandLineOverridden = false
    /// Bind the stateroot's var on the deployment's /var (false: leave it to a systemd generator).
    var mountVar = true
    /// Switch into the new root and exec /sbin/init after the mounts.
    var switchRoot = false
    /// PID 1 mode: `/` is the physical root; pivot_root and exec /sbin/init.
    var pid1 = false
    /// Arguments handed on to /sbin/init (PID 1 mode only: the kernel's leftovers), as bytes.
    var initArguments: [[UInt8]] = []

    /// The usage text for --help.
    static let usage = """
        Usage: arbor-prepare-root [OPTIONS] [SYSROOT]

        Makes the deployment named by ostree= on the kernel command line the root: binds it,
        its /usr read-only, /boot, /var (and /etc with sysroot.readonly), then moves the
        deployment to SYSROOT (default /sysroot) and the physical root to SYSROOT/sysroot,
        as ostree-prepare-root does. Writes /run/ostree-booted.
        As PID 1 (no initramfs), / is the physical root: pivot_root and exec /sbin/init; there
        only --no-var and --cmdline-file=FILE are options, and every other word is passed on
        to /sbin/init.

        Options:
          --cmdline-file=FILE  read the kernel command line from FILE, not /proc/cmdline
          --no-var             do not bind /var (a systemd generator's var.mount will),
                               unless /run/ostree/initramfs-mount-var exists
          --switch-root        then switch into SYSROOT and exec /sbin/init
          --help               show this text
          --version            show the version

        """

    /// The version line for --version.
    static let version = "arbor-prepare-root 1.0 (the mounts of ostree-prepare-root 2022.7)\n"

    /// The mode for a process that is (or is not) PID 1 with these words.
    static func mode(_ words: [[UInt8]], isPid1: Bool) -> Mode {
        guard isPid1 else { return .normal }
        return words.contains(bytes("--switch-root")) ? .initramfsPid1 : .pid1
    }

    /// Parses the words (without the program name) in `mode`.
    static func parse(_ words: [[UInt8]], mode: Mode) throws -> Options {
        var options = Options()
        options.pid1 = mode == .pid1
        let fileOption = Array("--cmdline-file=".utf8)
        var positional: [[UInt8]] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if word.starts(with: fileOption) {
                options.commandLineFile = try text(Array(word[fileOption.count...]), "--cmdline-file")
                options.commandLineOverridden = true
                continue
            }
            if word == bytes("--no-var") {
                options.mountVar = false
                continue
            }
            if mode == .pid1 {
                options.initArguments.append(word)
                continue
            }
            if word == bytes("--help") || word == bytes("-h") || word == bytes("--version") {
                guard mode == .normal else {
                    throw PrepareRootError.usage("\(Shown.bytes(word)) is not available to PID 1, which must not exit")
                }
                options.action = word == bytes("--version") ? .version : .help
            } else if word == bytes("--switch-root") {
                options.switchRoot = true
            } else if word == bytes("--cmdline-file") {
                guard index < words.count else { throw PrepareRootError.usage("--cmdline-file needs a value") }
                options.commandLineFile = try text(words[index], "--cmdline-file")
                options.commandLineOverridden = true
                index += 1
            } else if word == bytes("--") {
                positional.append(contentsOf: words[index...])
                index = words.count
            } else if word.first == UInt8(ascii: "-") && word.count > 1 {
                throw PrepareRootError.usage("unknown option \(Shown.bytes(word))")
            } else {
                positional.append(word)
            }
        }
        if options.commandLineOverridden && options.commandLineFile.isEmpty {
            throw PrepareRootError.usage("--cmdline-file needs a value")
        }
        if mode == .pid1 {
            options.sysroot = "/"
        } else if positional.count > 1 {
            throw PrepareRootError.usage("too many arguments: expected one SYSROOT")
        } else if let sysroot = positional.first {
            guard !sysroot.isEmpty else { throw PrepareRootError.usage("SYSROOT must not be empty") }
            options.sysroot = try text(sysroot, "SYSROOT")
        }
        return options
    }

    /// The bytes of an option name (words are compared as bytes, never as Strings, whose
    /// comparison is by canonical equivalence of grapheme clusters).
    static func bytes(_ name: String) -> [UInt8] {
        return Array(name.utf8)
    }

    /// A word used as a path, which must be valid UTF-8.
    static func text(_ word: [UInt8], _ name: String) throws -> String {
        guard let value = BytePath.text(word) else {
            throw PrepareRootError.usage("\(name) '\(Shown.bytes(word))' is not valid UTF-8")
        }
        return value
    }
}
