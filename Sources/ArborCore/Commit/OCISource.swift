// `commit --tree=oci=DIR[:TAG]`: an OCI image layout (image-spec `image-layout.md`) layered
// into the tree. index.json names the manifest (by its `org.opencontainers.image.ref.name`
// annotation, or the only one); the manifest names the config and the layers. Every blob is
// checked against its descriptor's size and sha256 before it is used, and a layer is hashed
// again as libarchive reads it, so a blob swapped in between cannot slip through. Layers
// apply in order with whiteouts, parents created as needed, as container runtimes do.
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The digests that identify the image an OCI source committed.
public struct OCIImageInfo: Sendable {
    /// The image manifest's digest, `sha256:...`.
    public var manifestDigest: String
    /// The image config's digest, `sha256:...`.
    public var configDigest: String

    /// Commit metadata keys under which the digests are recorded.
    public static let manifestDigestKey = "oci.manifest.digest"
    /// See `manifestDigestKey`.
    public static let configDigestKey = "oci.config.digest"

    /// The commit metadata entries for this image.
    public var metadata: [(String, GVariant)] {
        [(Self.manifestDigestKey, .string(manifestDigest)), (Self.configDigestKey, .string(configDigest))]
    }
}

/// Splits `DIR[:TAG]`. A colon only starts a tag when what follows has no `/` and the whole
/// text is not itself an existing directory.
public func ociReference(_ text: String) -> (path: String, tag: String?) {
    guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
    let tag = text[text.index(after: colon)...]
    if tag.contains("/") || (try? openDirectory(path: text)) != nil { return (text, nil) }
    return (String(text[..<colon]), tag.isEmpty ? nil : String(tag))
}

/// A content descriptor (image-spec `descriptor.md`), the fields Arbor uses.
struct OCIDescriptor: Decodable {
    var mediaType: String?
    var digest: String
    var size: Int64
    var annotations: [String: String]?
    var platform: Platform?

    struct Platform: Decodable {
        var architecture: String?
        var os: String?
    }

    var refName: String? { annotations?["org.opencontainers.image.ref.name"] }
}

private struct OCIIndex: Decodable {
    var manifests: [OCIDescriptor]
}

private struct OCIManifest: Decodable {
    var mediaType: String?
    var config: OCIDescriptor
    var layers: [OCIDescriptor]
}

private struct OCIConfig: Decodable {
    struct RootFS: Decodable { var diff_ids: [String]? }
    var rootfs: RootFS?
}

private enum OCIMediaType {
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static func isIndex(_ t: String?) -> Bool { t == ociIndex || t == dockerList }
    /// Tar layers, plain or compressed (libarchive detects the compression itself).
    static func isLayer(_ t: String?) -> Bool {
        guard let t = t else { return false }
        return (t.hasPrefix("application/vnd.oci.image.layer.") || t.hasPrefix("application/vnd.docker.image.rootfs."))
            && t.contains("tar") && !t.contains("encrypted")
    }
}

extension CommitBuilder {
    /// Layers the image `tag` (or the only image) of the OCI image layout at `path`.
    /// `options.skipSpecial` is honoured; whiteouts and parent creation are always on.
    public func addOCIImage(path: String, tag: String?, options: TarOptions) throws -> OCIImageInfo {
        let layout = OCILayout(dir: try openDirectory(path: path), display: path)
        try layout.checkVersion()
        var manifestDesc = try layout.selectManifest(tag: tag)
        if OCIMediaType.isIndex(manifestDesc.mediaType) {
            let nested: OCIIndex = try layout.decode(try layout.readBlob(manifestDesc), what: "image index \(manifestDesc.digest)")
            manifestDesc = try layout.selectPlatform(nested.manifests, from: manifestDesc.digest)
        }
        let manifest: OCIManifest = try layout.decode(try layout.readBlob(manifestDesc), what: "manifest \(manifestDesc.digest)")
        let config: OCIConfig = try layout.decode(try layout.readBlob(manifest.config), what: "config \(manifest.config.digest)")
        if let ids = config.rootfs?.diff_ids, ids.count != manifest.layers.count {
            throw ArborError.invalidArgument("\(path): manifest \(manifestDesc.digest) has \(manifest.layers.count) layers but its config lists \(ids.count)")
        }
        var tar = options
        tar.whiteouts = true
        tar.autocreateParents = true
        for layer in manifest.layers {
            guard OCIMediaType.isLayer(layer.mediaType) else {
                throw ArborError.unsupported("\(path): layer \(layer.digest) has unsupported media type \(layer.mediaType ?? "(none)")")
            }
            try layout.withVerifiedBlob(layer) { reader in try importArchive(reader, tar: tar) }
        }
        return OCIImageInfo(manifestDigest: manifestDesc.digest, configDigest: manifest.config.digest)
    }
}

/// An OCI image layout directory opened for reading.
private struct OCILayout {
    let dir: FileDescriptor
    let display: String
    /// Manifests, indexes and configs are small; anything bigger is not one.
    static let jsonLimit = 4 << 20

    func checkVersion() throws {
        guard let fd = try dir.openIfExists("oci-layout", O_RDONLY | O_NOFOLLOW) else {
            throw ArborError.invalidArgument("\(display) is not an OCI image layout (no oci-layout file)")
        }
        struct Version: Decodable { var imageLayoutVersion: String }
        let v: Version = try decode(try fd.readAll(limit: Self.jsonLimit), what: "oci-layout")
        guard v.imageLayoutVersion.hasPrefix("1.") else {
            throw ArborError.unsupported("\(display): unsupported image layout version \(v.imageLayoutVersion)")
        }
    }

    /// The descriptor in index.json for `tag`, or the only one.
    func selectManifest(tag: String?) throws -> OCIDescriptor {
        let fd = try dir.openRead("index.json")
        let index: OCIIndex = try decode(try fd.readAll(limit: Self.jsonLimit), what: "index.json")
        let tags = Set(index.manifests.compactMap(\.refName)).sorted().joined(separator: ", ")
        let candidates = tag.map { t in index.manifests.filter { $0.refName == t } } ?? index.manifests
        switch candidates.count {
        case 1: return candidates[0]
        case 0:
            if let t = tag { throw ArborError.notFound("\(display): no image tagged \(t) (tags: \(tags.isEmpty ? "none" : tags))") }
            throw ArborError.notFound("\(display): index.json lists no image")
        default:
            // One tag over several platforms: take this machine's.
            if tag != nil { return try selectPlatform(candidates, from: "index.json") }
            throw ArborError.invalidArgument("\(display) holds \(candidates.count) images; name one as oci=DIR:TAG (tags: \(tags.isEmpty ? "none" : tags))")
        }
    }

    /// The manifest for this machine's platform among several, or the only one.
    func selectPlatform(_ manifests: [OCIDescriptor], from what: String) throws -> OCIDescriptor {
        if manifests.count == 1 { return manifests[0] }
        let arch = Self.hostArchitecture
        let matching = manifests.filter { ($0.platform?.os ?? "linux") == "linux" && $0.platform?.architecture == arch }
        guard let m = matching.first else {
            throw ArborError.notFound("\(display): \(what) has no image for linux/\(arch)")
        }
        return m
    }

    static var hostArchitecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #elseif arch(arm)
        return "arm"
        #else
        return "unknown"
        #endif
    }

    /// Opens the blob a descriptor names (its digest is validated first, so it is one plain name).
    func openBlob(_ d: OCIDescriptor) throws -> FileDescriptor {
        let parts = d.digest.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "sha256" else {
            throw ArborError.unsupported("\(display): unsupported digest \(d.digest) (only sha256)")
        }
        let hex = parts[1]
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ArborError.invalidArgument("\(display): malformed digest \(d.digest)")
        }
        guard d.size >= 0 else { throw ArborError.invalidArgument("\(display): blob \(d.digest) has a negative size") }
        do {
            return try dir.openDirectory("blobs").openDirectory("sha256").openRead(String(hex))
        } catch ArborError.system(_, _, ENOENT) {
            throw ArborError.notFound("\(display): blob \(d.digest) is missing")
        }
    }

    /// Reads a small blob and checks it against its descriptor.
    func readBlob(_ d: OCIDescriptor) throws -> [UInt8] {
        guard d.size <= Int64(Self.jsonLimit) else { throw ArborError.invalidArgument("\(display): blob \(d.digest) is too large (\(d.size) bytes)") }
        let bytes = try openBlob(d).readAll(limit: Self.jsonLimit)
        try check(d, size: Int64(bytes.count), digest: SHA256Hasher.hash(bytes))
        return bytes
    }

    /// Checks a large blob by streaming it, then hands it to `body` as an archive read from its
    /// start; the bytes actually read are hashed again and checked afterwards.
    func withVerifiedBlob(_ d: OCIDescriptor, _ body: (ArchiveReader) throws -> Void) throws {
        let fd = try openBlob(d)
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 64)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n = try fd.read(into: buffer)
            if n == 0 { break }
            total += Int64(n)
            if total > d.size { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        try check(d, size: total, digest: hasher.finalize())
        if lseek(fd.raw, 0, SEEK_SET) != 0 { throw ArborError.errno("seek", fd.path) }
        let reader = try ArchiveReader(fd: fd, display: "\(display): layer \(d.digest)", hasher: hasher)
        try body(reader)
        try check(d, size: Int64(try reader.drain()), digest: hasher.finalize())
    }

    private func check(_ d: OCIDescriptor, size: Int64, digest: Checksum) throws {
        guard size == d.size else {
            throw ArborError.invalidArgument("\(display): blob \(d.digest) has \(size)\(size > d.size ? "+" : "") bytes, its descriptor says \(d.size)")
        }
        guard "sha256:" + digest.hex == d.digest else {
            throw ArborError.invalidArgument("\(display): blob \(d.digest) does not match its digest (its content hashes to sha256:\(digest.hex))")
        }
    }

    func decode<T: Decodable>(_ bytes: [UInt8], what: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch let e as DecodingError {
            let context: DecodingError.Context
            switch e {
            case let .typeMismatch(_, c), let .valueNotFound(_, c), let .keyNotFound(_, c), let .dataCorrupted(c): context = c
            @unknown default: throw ArborError.invalidArgument("\(display): \(what) is not valid JSON for it")
            }
            let at = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ArborError.invalidArgument("\(display): \(what) is not valid: \(at.isEmpty ? "" : at + ": ")\(context.debugDescription)")
        }
    }
}
