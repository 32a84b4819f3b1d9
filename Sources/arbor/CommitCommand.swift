// `arbor commit`: commit a tree (directories, existing commits, tarballs and OCI images, layered in order).
import ArborCore
import ArgumentParser

struct CommitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit",
        abstract: "Commit a tree and print the new commit's checksum.",
        discussion: """
        Sources are layered in order, later ones winning: PATH and --tree=dir=PATH read a \
        directory, --tree=ref=REV the tree of an existing commit, --tree=tar=FILE a tarball \
        (any compression; - for standard input), --tree=oci=DIR[:TAG] the layers of an OCI \
        image layout, each blob checked against its digest. The branch moves only after every \
        object is safely on disk; identical content is stored once.
        """
    )

    @OptionGroup var repoOptions: RepoOptions
    @OptionGroup var output: OutputOptions

    @Option(name: [.customShort("b"), .customLong("branch")], help: "The branch to commit to.")
    var branch: String?

    @Flag(help: "Create a commit without a branch (no ref is written).")
    var orphan = false

    @Option(name: [.customShort("s"), .customLong("subject")], help: "One-line subject.")
    var subject: String = ""

    @Option(name: [.customShort("m"), .customLong("body")], help: "Full description.")
    var body: String = ""

    @Option(help: ArgumentHelp("Parent commit, or 'none' (default: the branch's current commit).", valueName: "REV"))
    var parent: String?

    @Option(help: ArgumentHelp("Commit time: seconds since the epoch or ISO 8601 (default: now).", valueName: "T"))
    var timestamp: String?

    @Option(name: .customLong("add-metadata-string"), help: ArgumentHelp("Add a metadata string (repeatable).", valueName: "KEY=VALUE"))
    var metadataStrings: [String] = []

    @Option(name: .customLong("bind-ref"), help: ArgumentHelp("Also bind the commit to this ref (repeatable).", valueName: "REF"))
    var bindRefs: [String] = []

    @Flag(name: .customLong("no-bindings"), help: "Do not record the ref binding in the commit.")
    var noBindings = false

    @Option(name: .customLong("owner-uid"), help: "Set every entry's owner.")
    var ownerUID: UInt32?

    @Option(name: .customLong("owner-gid"), help: "Set every entry's group.")
    var ownerGID: UInt32?

    @Flag(name: .customLong("canonical-permissions"), help: "uid/gid 0, modes masked to 0755, no xattrs.")
    var canonicalPermissions = false

    @Flag(name: .customLong("no-xattrs"), help: "Do not commit extended attributes.")
    var noXattrs = false

    @Flag(name: .customLong("skip-if-unchanged"), help: "Do not commit when the tree equals the parent's; print the parent.")
    var skipIfUnchanged = false

    @Option(help: ArgumentHelp("Sign the commit with this ed25519 secret key (base64; repeatable).", valueName: "KEY"))
    var sign: [String] = []

    @Option(name: .customLong("sign-type"), help: "Signature type (only ed25519).")
    var signType: String = "ed25519"

    @Flag(name: .customLong("generate-sizes"), help: "Record each object's sizes in the commit (ostree.sizes), so that pull --dry-run needs no HEAD requests.")
    var generateSizes = false

    @Option(name: .customLong("tree"), help: ArgumentHelp("A layer: dir=PATH, ref=REV, tar=FILE or oci=DIR[:TAG] (repeatable, in order).", valueName: "SOURCE"))
    var trees: [String] = []

    @Flag(name: .customLong("tar-autocreate-parents"), help: "Create directories a tarball lacks (0755, owned like the entry needing them).")
    var tarAutocreateParents = false

    @Flag(name: .customLong("tar-skip-special"), help: "Leave out device nodes, fifos and sockets of tarballs (listed on stderr).")
    var tarSkipSpecial = false

    @Flag(name: .customLong("whiteouts"), help: "Apply OCI whiteouts (.wh.NAME, .wh..wh..opq) of tarballs to the layers below.")
    var whiteouts = false

    @Argument(help: "A directory to commit (same as --tree=dir=PATH).")
    var path: String?

    func validate() throws {
        if branch == nil && !orphan { throw ValidationError("a branch (-b REF) or --orphan is required") }
        if branch != nil && orphan { throw ValidationError("-b and --orphan exclude each other") }
        if trees.isEmpty && path == nil { throw ValidationError("nothing to commit: give PATH or --tree=") }
        if trees.filter({ $0 == "tar=-" }).count > 1 { throw ValidationError("standard input can be read only once (--tree=tar=-)") }
    }

    func run() throws {
        let repo = try repoOptions.open()
        var sources: [TreeSource] = []
        for t in trees {
            if t.hasPrefix("dir=") { sources.append(.directory(String(t.dropFirst(4)))) }
            else if t.hasPrefix("ref=") { sources.append(.ref(String(t.dropFirst(4)))) }
            else if t.hasPrefix("tar=") { sources.append(.tarball(String(t.dropFirst(4)))) }
            else if t.hasPrefix("oci=") {
                let (dir, tag) = ociReference(String(t.dropFirst(4)))
                sources.append(.oci(dir, tag: tag))
            } else { throw ValidationError("invalid --tree '\(t)' (dir=PATH, ref=REV, tar=FILE or oci=DIR[:TAG])") }
        }
        if let p = path { sources.append(.directory(p)) }
        var options = CommitOptions()
        options.branch = branch
        options.subject = subject
        options.body = body
        switch parent {
        case nil: options.parent = orphan ? .none : .branchHead
        case "none"?: options.parent = .none
        case let rev?: options.parent = .revision(rev)
        }
        if let t = timestamp {
            guard let ts = parseTimestamp(t) else { throw ValidationError("invalid timestamp '\(t)'") }
            options.timestamp = ts
        }
        for kv in metadataStrings {
            guard let eq = kv.firstIndex(of: "="), eq != kv.startIndex else {
                throw ValidationError("invalid --add-metadata-string '\(kv)' (KEY=VALUE)")
            }
            options.metadata.append((String(kv[..<eq]), .string(String(kv[kv.index(after: eq)...]))))
        }
        options.bindings = !noBindings
        options.bindRefs = bindRefs
        options.skipIfUnchanged = skipIfUnchanged
        guard signType == "ed25519" else { throw ValidationError("unsupported signature type '\(signType)' (ed25519)") }
        options.signingKeys = try sign.map { try Ed25519.SecretKey(base64: $0) }
        options.generateSizes = generateSizes
        options.tree.ownerUID = ownerUID
        options.tree.ownerGID = ownerGID
        options.tree.canonicalPermissions = canonicalPermissions
        options.tree.noXattrs = noXattrs
        options.tar.autocreateParents = tarAutocreateParents
        options.tar.skipSpecial = tarSkipSpecial
        options.tar.whiteouts = whiteouts
        options.tar.skipped = { path in warn("skipped special file \(path)") }
        var line: ProgressLine?
        let result = try repo.commit(sources: sources, options: options) { progress in
            line = ProgressLine(enabled: output.showProgress) {
                let s = progress.snapshot
                return "Committing: \(s.files) files, \(humanBytes(s.bytes))"
            }
        }
        line?.stop()
        if output.verbose {
            warn(result.created ? "wrote \(result.objectsWritten) objects (\(humanBytes(result.bytesWritten)) of content)"
                                : "tree unchanged; no commit made")
        }
        print(result.checksum.hex)
    }
}
