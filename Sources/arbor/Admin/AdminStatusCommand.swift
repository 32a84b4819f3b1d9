// `arbor admin status`: deployments in boot order, in `ostree admin status`'s layout or as JSON.
import ArborDeploy
import ArgumentParser

struct AdminStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List deployments in boot order: stateroot, checksum.serial, version, pinned, origin, default/rollback/booted."
    )

    @OptionGroup var sysrootOptions: SysrootOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let list = try sysrootOptions.open().status()
        if json {
            print(JSON.array(list.map { s in
                let d = s.deployment
                return .object([
                    ("index", .int(Int64(s.index))), ("stateroot", .string(d.stateroot)),
                    ("checksum", .string(d.checksum.hex)), ("serial", .int(Int64(d.serial))), ("name", .string(d.name)),
                    ("origin", d.origin?.refspec.map { .string($0) } ?? .null),
                    ("version", s.version.map { .string($0) } ?? .null), ("pinned", .bool(d.isPinned)),
                    ("default", .bool(s.isDefault)), ("rollback", .bool(s.isRollback)), ("booted", .bool(s.isBooted)),
                    ("staged", .bool(s.isStaged)), ("bootChecksum", .string(d.bootChecksum)),
                    ("kernelArgs", .array(d.userKernelArgs.map { .string($0) })),
                ])
            }).render())
            return
        }
        if list.isEmpty { print("No deployments."); return }
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
        }
    }
}
