// Fuzz target: OCI image layout import (`commit --tree=oci=DIR[:TAG]`), chiefly its JSON
// handling. An input is up to four parts separated by a line `--8<--`:
//   index.json, the manifest blob, the config blob, one layer blob (a tarball).
// Blobs are stored under blobs/sha256/ by their real digest; before that, the tokens
// @CONFIG_DIGEST@ @CONFIG_SIZE@ @LAYER_DIGEST@ @LAYER_SIZE@ in the manifest and
// @MANIFEST_DIGEST@ @MANIFEST_SIZE@ in index.json are replaced by the real values, so the
// fuzzer reaches the manifest, config and layer code without forging SHA-256 digests.
// The layout is rebuilt per input under a scratch directory in $TMPDIR (removed at exit) and
// imported with CommitBuilder.addOCIImage into an aborted transaction on a scratch archive
// repository; an odd input length asks for the tag "latest", an even one for no tag.
// Build and run with scripts/fuzz.sh oci.
#if canImport(Glibc)
import Glibc
#endif
@testable import ArborCore

/// Stops the run with a message (precondition drops its message under -O).
private func check(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "invariant broken") {
    if !ok() { fatalError(message()) }
}

private final class Scratch: @unchecked Sendable {
    let dir: String
    let repo: Repository
    let layout: String

    init() {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/arbor-fuzz-oci-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fatalError("mkdtemp in \(base) failed")
        }
        dir = String(cString: made)
        repo = try! Repository.create(path: dir + "/repo", mode: .archive)
        try! repo.updateConfig { $0.set("core", "fsync", "false") }
        layout = dir + "/layout"
        atexit { try? removeTree(FileDescriptor.cwd, scratch.dir) }
    }
}

private let scratch = Scratch()
private let separator = Array("\n--8<--\n".utf8)

/// Splits `bytes` at each separator (at most `limit` parts).
private func split(_ bytes: [UInt8], limit: Int) -> [[UInt8]] {
    var parts: [[UInt8]] = []
    var from = 0
    var i = 0
    while i + separator.count <= bytes.count, parts.count < limit - 1 {
        if bytes[i] == separator[0] && Array(bytes[i..<(i + separator.count)]) == separator {
            parts.append(Array(bytes[from..<i]))
            i += separator.count
            from = i
        } else {
            i += 1
        }
    }
    parts.append(Array(bytes[from...]))
    return parts
}

/// Replaces every occurrence of `token` in `bytes`.
private func replace(_ bytes: [UInt8], _ token: String, _ value: String) -> [UInt8] {
    let t = Array(token.utf8), v = Array(value.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
        if bytes[i] == t[0], i + t.count <= bytes.count, Array(bytes[i..<(i + t.count)]) == t {
            out += v
            i += t.count
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return out
}

private func writeFile(_ dir: FileDescriptor, _ name: String, _ bytes: [UInt8]) {
    try! writeFileAtomically(dir, name, bytes, sync: false)
}

/// Stores a blob by its digest; returns ("sha256:HEX", size).
private func storeBlob(_ blobs: FileDescriptor, _ bytes: [UInt8]) -> (String, String) {
    let hex = SHA256Hasher.hash(bytes).hex
    writeFile(blobs, hex, bytes)
    return ("sha256:" + hex, String(bytes.count))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    var parts = split(input, limit: 4)
    while parts.count < 4 { parts.append([]) }

    let root = FileDescriptor.cwd
    try? removeTree(root, scratch.layout)
    check(mkdir(scratch.layout, 0o755) == 0, "cannot create the scratch layout")
    let layout = try! openDirectory(path: scratch.layout)
    _ = try! layout.mkdir("blobs", mode: 0o755)
    _ = try! layout.openDirectory("blobs").mkdir("sha256", mode: 0o755)
    let blobs = try! layout.openDirectory("blobs").openDirectory("sha256")
    writeFile(layout, "oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))

    let (configDigest, configSize) = storeBlob(blobs, parts[2])
    let (layerDigest, layerSize) = storeBlob(blobs, parts[3])
    var manifest = parts[1]
    for (token, value) in [("@CONFIG_DIGEST@", configDigest), ("@CONFIG_SIZE@", configSize),
                           ("@LAYER_DIGEST@", layerDigest), ("@LAYER_SIZE@", layerSize)] {
        manifest = replace(manifest, token, value)
    }
    let (manifestDigest, manifestSize) = storeBlob(blobs, manifest)
    var index = parts[0]
    for (token, value) in [("@MANIFEST_DIGEST@", manifestDigest), ("@MANIFEST_SIZE@", manifestSize)] {
        index = replace(index, token, value)
    }
    writeFile(layout, "index.json", index)

    guard let txn = try? Transaction(scratch.repo) else { fatalError("cannot start a transaction") }
    defer { txn.abort() }
    let builder = CommitBuilder(transaction: txn, options: TreeOptions())
    do {
        let info = try builder.addOCIImage(path: scratch.layout, tag: count & 1 != 0 ? "latest" : nil, options: TarOptions())
        check(info.configDigest.hasPrefix("sha256:") && info.manifestDigest.hasPrefix("sha256:"))
        let (tree, _) = try builder.finish()
        _ = try txn.loadDirTree(tree)
    } catch is ArborError {
        // A clean refusal.
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
