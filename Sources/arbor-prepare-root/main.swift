// arbor-prepare-root: Arbor's ostree-prepare-root. See Options.swift for the command line and
// MountSequence.swift for what it mounts. One line on stderr per run: the deployment made the
// root (`arbor-prepare-root: ostree=LINK -> ostree/deploy/OS/deploy/CSUM.SERIAL`), or
// `arbor-prepare-root: error: ...` and exit status 1.
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
    let sequence = MountSequence(sysroot: sysroot, deployment: deployment, readOnly: config.readOnly,
                                 mountVar: options.mountVar, pid1: options.pid1)
    try sequence.run()
    // Logged once it worked, so that a failure stays a single (error) line.
    Console.log("ostree=\(target) -> \(deployment.relativePath)")
    if options.pid1 || (options.switchRoot && sysroot == "/") {
        try SwitchRoot.exec(arguments: options.initArguments)
    }
    if options.switchRoot {
        try SwitchRoot.switchAndExec(newRoot: sysroot, arguments: [])
    }
}

/// The arguments after the program name, from argv as main received it (CommandLine.arguments
/// would come from /proc, which may not be mounted yet).
func programArguments() -> [String] {
    let count = Int(arbor_argument_count())
    guard count > 0 else { return Array(CommandLine.arguments.dropFirst()) }
    return (1..<count).compactMap { index in arbor_argument(Int32(index)).map { String(cString: $0) } }
}

// Without --switch-root, PID 1 means no initramfs: `/` is the physical root. With
// it, PID 1 is an initramfs's init that exec'd us.
let arguments = programArguments()
let isPid1 = getpid() == 1
do {
    let options = try Options.parse(arguments, pid1: isPid1 && !arguments.contains("--switch-root"))
    switch options.action {
    case .help:
        Console.out(Options.usage)
    case .version:
        Console.out(Options.version)
    case .prepare:
        try prepareRoot(options)
    }
    exit(0)
} catch let failure as PrepareRootError {
    Console.error(failure)
} catch {
    Console.error(.unsupported("unexpected failure: \(error)"))
}
if isPid1 { Pid1.rebootAfterFailure() }
exit(1)
