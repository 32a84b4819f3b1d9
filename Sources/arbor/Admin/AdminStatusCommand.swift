// `arbor admin status`: deployments in boot order, in `ostree admin status`'s layout or as JSON,
// with each entry's boot assessment and what the boot loader will start next.
import ArborCore
import ArborDeploy
import ArgumentParser

struct AdminStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List deployments in boot order, with their boot counting state and the next boot.",
        discussion: """
        Each deployment shows stateroot, checksum.serial, version, pinned, origin and \
        default/rollback/booted marks as `ostree admin status` does, and its boot entry: good \
        (no counter), indeterminate (tries left, not yet judged) or bad (no tries left: the boot \
        loader skips it). When boot counting is in play, the top lines say which deployment is \
        booted, which boots next, and whether the running system is a fallback from a default \
        that failed to boot.
        """
    )

    @OptionGroup var sysrootOptions: SysrootOptions

    @Flag(help: "Print JSON: {booted, default, nextBoot, fallback, defaultFailed, failedCommits, deployments}.")
    var json = false

    func run() throws {
        let status = try sysrootOptions.open().status()
        if json {
            print(Self.json(status).render())
            return
        }
        let list = status.deployments
        if list.isEmpty { print("No deployments."); return }
        let counting = list.contains { $0.deployment.bootCounter != nil } || !status.failedCommits.isEmpty || status.fallback
        if counting {
            if let b = status.booted {
                print("Booted: \(b.stateroot) \(b.name)" + (status.fallback ? " (fallback: the default failed to boot)" : ""))
            }
            if let n = status.nextBoot {
                print("Next boot: \(n.stateroot) \(n.name)" + (status.defaultFailed ? " (the default's entry is bad)" : ""))
            }
            if !status.failedCommits.isEmpty {
                // Upgrades refuse these unless --allow-failed.
                print("Failed to boot here: " + status.failedCommits.map { "\($0.stateroot) \($0.failure.checksum.hex.prefix(12))" }.joined(separator: ", "))
            }
        }
        for s in list {
            let d = s.deployment
            var marks: [String] = []
            if s.isDefault { marks.append("default") }
            if s.isRollback { marks.append("rollback") }
            print("\(s.isBooted ? "* " : "  ")\(d.stateroot) \(d.name)" + (marks.isEmpty ? "" : " (\(marks.joined(separator: ", ")))"))
            if let v = s.version { print("    Version: \(v)") }
            if d.isPinned { print("    Pinned: yes") }
            if let r = d.origin?.refspec {
                print("    origin refspec: \(r)")
            } else {
                print("    origin: none")
            }
            if counting { print("    Boot: \(Self.describe(s))") }
        }
    }

    /// `good`, `indeterminate (2 tries left, 1 done)`, `bad (0 left, 3 done): skipped by the boot loader`.
    static func describe(_ s: DeploymentStatus) -> String {
        let d = s.deployment
        var text = d.bootAssessment.rawValue
        if let c = d.bootCounter { text += " (\(c.left) \(c.left == 1 ? "try" : "tries") left, \(c.done) done)" }
        if d.bootAssessment == .bad { text += ": skipped by the boot loader" }
        if s.failedToBoot && d.bootAssessment != .bad { text += "; this commit failed to boot before" }
        if let e = d.entryFileName { text += " [\(e)]" }
        return text
    }

    static func json(_ status: SysrootStatus) -> JSON {
        func name(_ d: Deployment?) -> JSON { d.map { .string("\($0.stateroot) \($0.name)") } ?? .null }
        let deployments = JSON.array(status.deployments.map { s in
            let d = s.deployment
            return .object([
                ("index", .int(Int64(s.index))), ("stateroot", .string(d.stateroot)),
                ("checksum", .string(d.checksum.hex)), ("serial", .int(Int64(d.serial))), ("name", .string(d.name)),
                ("origin", d.origin?.refspec.map { .string($0) } ?? .null),
                ("version", s.version.map { .string($0) } ?? .null), ("pinned", .bool(d.isPinned)),
                ("default", .bool(s.isDefault)), ("rollback", .bool(s.isRollback)), ("booted", .bool(s.isBooted)),
                ("staged", .bool(s.isStaged)), ("bootChecksum", .string(d.bootChecksum)),
                ("kernelArgs", .array(d.userKernelArgs.map { .string($0) })),
                ("bootEntry", d.entryFileName.map { .string($0) } ?? .null),
                ("bootCounting", .string(d.bootAssessment.rawValue)),
                ("triesLeft", d.bootCounter.map { .int(Int64($0.left)) } ?? .null),
                ("triesDone", d.bootCounter.map { .int(Int64($0.done)) } ?? .null),
                ("bootsNext", .bool(s.bootsNext)), ("failedToBoot", .bool(s.failedToBoot)),
            ])
        })
        return .object([
            ("booted", name(status.booted)),
            ("default", name(status.deployments.first?.deployment)),
            ("nextBoot", name(status.nextBoot)),
            ("fallback", .bool(status.fallback)),
            ("defaultFailed", .bool(status.defaultFailed)),
            ("failedCommits", .array(status.failedCommits.map { f in
                .object([("stateroot", .string(f.stateroot)), ("checksum", .string(f.failure.checksum.hex)), ("time", .int(f.failure.time))])
            })),
            ("deployments", deployments),
        ])
    }
}
