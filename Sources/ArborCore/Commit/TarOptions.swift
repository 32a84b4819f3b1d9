// How tarball layers are read into the tree (`commit --tree=tar=` and OCI layers).

/// Options of tarball sources.
public struct TarOptions: Sendable {
    /// Create directories missing from the archive (0755, owned like the entry that needs them)
    /// instead of failing, as `ostree commit --tar-autocreate-parents`.
    public var autocreateParents = false
    /// Leave out device nodes, fifos and sockets instead of failing; each is reported to `skipped`.
    public var skipSpecial = false
    /// Apply OCI/Docker whiteouts (`.wh.NAME`, `.wh..wh..opq`) to the layers below.
    public var whiteouts = false
    /// Told the tree path of every special file left out under `skipSpecial`.
    public var skipped: (@Sendable (String) -> Void)?

    /// Creates default options: missing parents and special files are errors, no whiteouts.
    public init() {}
}
