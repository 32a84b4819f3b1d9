// `arbor admin bless-boot good|bad|status`: the booted system's verdict on its own boot.
import ArborCore
import ArborDeploy
import ArgumentParser

struct AdminBlessBootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bless-boot",
        abstract: "Mark the booted deployment's boot entry good or bad, optionally after health checks.",
        discussion: """
        good strips the entry's boot counter (ostree-I-OS+LEFT-DONE.conf becomes ostree-I-OS.conf), \
        so the boot loader stops counting it; bad leaves it no tries, so the boot loader skips it \
        from the next boot on; status prints good, indeterminate or bad and the entry's name. The \
        entry is found through the booted deployment (the directory that is /), never through \
        the kernel command line, and renamed in one step under the sysroot lock.

        With --health-dir, every executable in DIR runs first (name order, each limited to \
        --health-timeout seconds); the boot is good only when all pass. On a failure, \
        --on-failure=bad marks the entry bad, reboot reboots so the boot loader tries again \
        (or falls back once no tries are left), none only exits 1.

        After a fallback (the default's entry is bad and this older deployment booted), good \
        also makes the booted deployment the default again and records the failed commit, which \
        'admin upgrade' then refuses to deploy again unless --allow-failed.

        Run it once the system is up: a systemd unit ships as arbor-bless-boot.service (after \
        boot-complete.target); without systemd, call it from the end of the init scripts.
        """
    )

    enum Verb: String, ExpressibleByArgument, CaseIterable { case good, bad, status }
    enum OnFailure: String, ExpressibleByArgument, CaseIterable { case bad, reboot, none }

    @OptionGroup var sysrootOptions: SysrootOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "good, bad or status.")
    var verb: Verb

    @Option(name: .customLong("health-dir"), help: ArgumentHelp("Run every executable in DIR first; good only when all pass.", valueName: "DIR"))
    var healthDir: String?

    @Option(name: .customLong("health-timeout"), help: ArgumentHelp("Seconds each health check may take (default 60).", valueName: "SECONDS"))
    var healthTimeout: Double = 60

    @Option(name: .customLong("on-failure"), help: ArgumentHelp("What a failed health check does: bad, reboot or none (default none).", valueName: "ACTION"))
    var onFailure: OnFailure = .none

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard healthTimeout > 0, healthTimeout <= 86_400 else { throw ValidationError("--health-timeout must be between 0 and 86400 seconds") }
        if healthDir != nil && verb != .good { throw ValidationError("--health-dir only goes with 'good'") }
    }

    func run() throws {
        let sysroot = try sysrootOptions.open()
        let log: (String) -> Void = { if !json { say(output.quiet, $0) } }
        if verb == .status {
            let s = try sysroot.bootAssessment()
            if json {
                print(JSON.object([
                    ("deployment", .string("\(s.deployment.stateroot) \(s.deployment.name)")), ("entry", .string(s.entry)),
                    ("status", .string(s.assessment.rawValue)), ("fallback", .bool(s.fallback)),
                    ("triesLeft", s.counter.map { .int(Int64($0.left)) } ?? .null),
                    ("triesDone", s.counter.map { .int(Int64($0.done)) } ?? .null),
                ]).render())
            } else {
                print("\(s.assessment.rawValue) \(s.entry)" + (s.fallback ? " (fallback)" : ""))
            }
            return
        }
        var verdict: BootVerdict = verb == .good ? .good : .bad
        var checks: [HealthCheckResult] = []
        if let dir = healthDir {
            checks = try HealthCheck.run(directory: dir, timeout: healthTimeout, log: log)
            if checks.contains(where: { !$0.passed }) {
                let failed = checks.filter { !$0.passed }.map { "\($0.name) (\($0.detail))" }.joined(separator: ", ")
                switch onFailure {
                case .none:
                    throw ArborError.invalidArgument("health check failed: \(failed); the entry is left as it is")
                case .bad:
                    verdict = .bad
                case .reboot:
                    // The counter already went down when the boot loader chose this entry, so a
                    // reboot is the next attempt, or the fallback once no tries are left. An
                    // uncounted entry (or the last one not bad) would boot again: rebooting
                    // would loop for ever.
                    let s = try sysroot.bootAssessment()
                    guard s.rebootMovesOn else {
                        throw ArborError.invalidArgument("health check failed: \(failed); not rebooting: the boot loader would start \(s.entry) again")
                    }
                    warn("health check failed: \(failed); rebooting")
                    throw Reboot.now()
                }
            }
        }
        let r = try sysroot.blessBoot(verdict, log: log)
        if json {
            print(JSON.object([
                ("deployment", .string("\(r.deployment.stateroot) \(r.deployment.name)")),
                ("verdict", .string(verdict.rawValue)), ("oldEntry", .string(r.oldEntry)), ("newEntry", .string(r.newEntry)),
                ("fallback", .bool(r.fallback)), ("madeDefault", .bool(r.madeDefault)),
                ("recordedFailures", .array(r.recordedFailures.map { .string($0.hex) })),
                ("healthChecks", .array(checks.map { .object([("name", .string($0.name)), ("passed", .bool($0.passed)), ("detail", .string($0.detail))]) })),
            ]).render())
        }
        if verdict == .bad && verb == .good {
            let failed = checks.filter { !$0.passed }.map { "\($0.name) (\($0.detail))" }.joined(separator: ", ")
            throw ArborError.invalidArgument("health check failed: \(failed); marked the entry bad (\(r.newEntry))")
        }
    }
}
