// The command line of arbor-prepare-root:
//
//     arbor-prepare-root [--cmdline-file=FILE] [--no-var] [--switch-root] [SYSROOT]
//     arbor-prepare-root --help | --version
//
// As PID 1 (no initramfs) the kernel hands init whatever it did not understand on its own
// command line, so there unknown words are passed on to /sbin/init instead of being errors,
// and SYSROOT is always `/`.

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
    /// Arguments handed on to /sbin/init (PID 1 mode only: the kernel's leftovers).
    var initArguments: [String] = []

    /// The usage text for --help.
    static let usage = """
        Usage: arbor-prepare-root [OPTIONS] [SYSROOT]

        Makes the deployment named by ostree= on the kernel command line the root: binds it,
        its /usr read-only, /boot, /var (and /etc with sysroot.readonly), then moves the
        deployment to SYSROOT (default /sysroot) and the physical root to SYSROOT/sysroot,
        as ostree-prepare-root does. Writes /run/ostree-booted.
        As PID 1 (no initramfs), / is the physical root: pivot_root and exec /sbin/init.

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

    /// Parses the arguments (without the program name). In PID 1 mode unknown words are kept
    /// for /sbin/init rather than rejected, and SYSROOT is `/`.
    static func parse(_ arguments: [String], pid1: Bool) throws -> Options {
        var options = Options()
        options.pid1 = pid1
        var positional: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--help", "-h":
                options.action = .help
            case "--version":
                options.action = .version
            case "--no-var":
                options.mountVar = false
            case "--switch-root":
                options.switchRoot = true
            case "--cmdline-file":
                guard index < arguments.count else { throw PrepareRootError.usage("--cmdline-file needs a value") }
                options.commandLineFile = arguments[index]
                options.commandLineOverridden = true
                index += 1
            case "--":
                positional.append(contentsOf: arguments[index...])
                index = arguments.count
            default:
                if argument.hasPrefix("--cmdline-file=") {
                    options.commandLineFile = String(argument.dropFirst("--cmdline-file=".count))
                    options.commandLineOverridden = true
                } else if argument.hasPrefix("-") && argument != "-" && !pid1 {
                    throw PrepareRootError.usage("unknown option \(argument)")
                } else {
                    positional.append(argument)
                }
            }
        }
        if options.commandLineOverridden && options.commandLineFile.isEmpty {
            throw PrepareRootError.usage("--cmdline-file needs a value")
        }
        if pid1 {
            options.sysroot = "/"
            options.initArguments = positional
        } else if positional.count > 1 {
            throw PrepareRootError.usage("too many arguments: expected one SYSROOT")
        } else if let sysroot = positional.first {
            guard !sysroot.isEmpty else { throw PrepareRootError.usage("SYSROOT must not be empty") }
            options.sysroot = sysroot
        }
        return options
    }
}
