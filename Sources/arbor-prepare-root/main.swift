// arbor-prepare-root: Arbor's ostree-prepare-root. See Options.swift for the command line and
// MountSequence.swift for what it mounts. One line on stderr per run: the deployment made the
// root (`arbor-prepare-root: ostree=LINK -> ostree/deploy/OS/deploy/CSUM.SERIAL`), or
// `arbor-prepare-root: error: ...` and exit status 1. As PID 1 it never exits: it execs
// /sbin/init, or prints its error line and reboots (Pid1).
#if canImport(Glibc)
import Glibc
import CArborPrepareRoot
#endif

/// Reads the command line and the configuration, resolves the deployment, mounts, and (when
/// asked or as PID 1) switches root and execs /sbin/init. Returns only on success without a
/// switch; throws a PrepareRootError otherwise.
func prepareRoot(_ options: Options) throws {
    let commandLine = try KernelCommandLine.load(path: options.commandLineFile, isProc: !options.commandLineOverridden)
    let target = try KernelCommandLine.ostreeTarget(commandLine)
    let sysroot = try FileSystem.canonicalDirectory(options.sysroot)
    let deployment = try Bootlink.resolve(sysroot: sysroot, target: target)
    let config = try SysrootConfig.load(sysroot: sysroot)
    let execsInit = options.pid1 || options.switchRoot
    // A tree without an init fails here, with nothing mounted yet; the prepared root is
    // checked again before the switch. (Not with a hotfix overlay: its upper layer may be
    // what provides the init.)
    if execsInit && FileSystem.lstatIfPresent(deployment.path + "/.usr-ovl-work") == nil {
        try SwitchRoot.checkInit(root: deployment.path)
    }
    let sequence = MountSequence(sysroot: sysroot, deployment: deployment, readOnly: config.readOnly,
                                 mountVar: options.mountVar, pid1: options.pid1)
    try sequence.run()
    // Logged once it worked (just before the exec when there is one), so that a failure stays
    // a single (error) line.
    let line = "ostree=\(Shown.clip(target)) -> \(Shown.clip(deployment.relativePath))"
    if options.pid1 || (options.switchRoot && sysroot == "/") {
        try SwitchRoot.exec(arguments: options.initArguments, line: line)
    }
    if options.switchRoot {
        try SwitchRoot.switchAndExec(newRoot: sysroot, arguments: [], line: line)
    }
    Console.log(line)
}

/// The arguments after the program name, as raw bytes, from argv as main received it
/// (CommandLine.arguments would come from /proc, which may not be mounted yet, and as Strings
/// would replace bytes that are not UTF-8).
func programArguments() -> [[UInt8]] {
    let count = Int(arbor_argument_count())
    guard count > 0 else { return CommandLine.arguments.dropFirst().map { Array($0.utf8) } }
    return (1..<count).compactMap { index in
        arbor_argument(Int32(index)).map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
    }
}

// Without --switch-root, PID 1 means no initramfs: `/` is the physical root. With
// it, PID 1 is an initramfs's init that exec'd us.
let words = programArguments()
let isPid1 = getpid() == 1
do {
    let options = try Options.parse(words, mode: Options.mode(words, isPid1: isPid1))
    switch options.action {
    case .help:
        Console.out(Options.usage)
    case .version:
        Console.out(Options.version)
    case .prepare:
        try prepareRoot(options)
    }
    // As PID 1 prepareRoot execs or throws, and --help/--version are refused: never here.
    if !isPid1 { exit(0) }
    Console.error(.unsupported("nothing to exec as PID 1"))
} catch let failure as PrepareRootError {
    Console.error(failure)
} catch {
    Console.error(.unsupported("unexpected failure: \(error)"))
}
if isPid1 { Pid1.rebootAfterFailure() }
exit(1)
