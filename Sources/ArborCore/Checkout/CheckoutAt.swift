// Checkout into an open directory: the same walk as `checkout`, for callers that hold a directory
// descriptor (deployments) and must not resolve a path again.

extension Repository {
    /// Checks a commit's whole tree out as `name`, which must not exist, inside the directory `parent`.
    public func checkout(commit: Checksum, into parent: FileDescriptor, name: String, options: CheckoutOptions) throws -> CheckoutStats {
        let lock = try lock(.shared)
        defer { lock?.release() }
        let c = try loadCommit(commit)
        if options.requireHardlinks && !canHardlink(options) {
            throw ArborError.invalidArgument("hardlinks are impossible from a \(mode.rawValue) repository")
        }
        var o = options
        o.union = false  // a fresh directory: never write into an existing one
        let ctx = CheckoutContext(repo: self, options: o, hardlink: canHardlink(o))
        if parent.exists(name) { throw ArborError.invalidArgument("\(parent.join(name)) already exists") }
        try ctx.checkoutDir(tree: c.rootTree, meta: try loadDirMeta(c.rootMeta), name: name, in: parent)
        return ctx.stats
    }
}
