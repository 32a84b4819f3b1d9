// `arbor fsck`: verify every object and every commit's closure.
import ArborCore
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Verify every object's checksum and every commit's completeness.",
        discussion: """
        Exits 1 when an object is corrupt, a complete commit lacks an object, or a ref names a \
        missing, corrupt or partial commit. Partial commits (an interrupted pull) are reported and \
        skipped. With --delete, corrupt objects are removed and the commits needing them are marked \
        partial, so that a later pull repairs them.
        """
    )

    @OptionGroup var repoOptions: RepoOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Print a JSON report.")
    var json = false

    @Flag(help: "Delete corrupt objects and mark the commits that need them partial.")
    var delete = false

    func run() throws {
        let repo = try repoOptions.open()
        let progress = FsckProgress()
        let line = ProgressLine(enabled: output.showProgress && !json) {
            let s = progress.snapshot
            return "Checking objects: \(s.done)/\(s.total)"
        }
        let report = try repo.fsck(delete: delete, progress: progress)
        line?.stop()
        if json {
            print(JSON.object([
                ("ok", .bool(report.ok)),
                ("objects", .uint(UInt64(report.objectsChecked))),
                ("commits", .uint(UInt64(report.commitsChecked))),
                ("partialCommits", .array(report.partialCommits.map { .string($0.hex) })),
                ("issues", .array(report.issues.map(issueJSON))),
                ("strays", .array(report.strays.map { .string($0) })),
                ("deleted", .array(report.deleted.map { .string($0.description) })),
                ("markedPartial", .array(report.markedPartial.map { .string($0.hex) })),
            ]).render())
        } else {
            for issue in report.issues {
                var text = issue.object.map { "\($0.checksum.hex).\($0.type.name)" } ?? ""
                switch issue.kind {
                case .corrupt: text = "corrupt object \(text): \(issue.reason)"
                case .missing: text = "missing object \(text)"
                case .badRef: text = issue.reason
                }
                print(text)
                for r in issue.reachedFrom.prefix(5) { print("    in commit \(r.commit.hex) at \(r.path)") }
                if issue.reachedFrom.count > 5 { print("    ... and \(issue.reachedFrom.count - 5) more") }
            }
            for s in report.strays where output.verbose { print("not an object: \(s)") }
            for d in report.deleted { print("deleted \(d)") }
            for c in report.markedPartial { print("marked partial: \(c.hex)") }
            if !output.quiet {
                print("Checked \(report.objectsChecked) objects and \(report.commitsChecked) commits.")
                if !report.partialCommits.isEmpty { print("\(report.partialCommits.count) partial commits not verified") }
                print(report.ok ? "No errors found." : "Found \(report.issues.count) problem(s).")
            }
        }
        if !report.ok { throw ExitCode(1) }
    }

    private func issueJSON(_ i: FsckIssue) -> JSON {
        .object([
            ("kind", .string(i.kind.rawValue)),
            ("object", i.object.map { .string($0.checksum.hex) } ?? .null),
            ("type", i.object.map { .string($0.type.name) } ?? .null),
            ("ref", i.ref.map { .string($0) } ?? .null),
            ("reason", .string(i.reason)),
            ("reachedFrom", .array(i.reachedFrom.map { .object([("commit", .string($0.commit.hex)), ("path", .string($0.path))]) })),
        ])
    }
}
