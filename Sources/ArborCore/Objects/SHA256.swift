// Streaming SHA-256 through OpenSSL's EVP interface.
import COpenSSL

/// An incremental SHA-256 hasher. Not thread-safe; one per stream.
public final class SHA256Hasher {
    private let ctx: OpaquePointer

    /// Starts a new digest.
    public init() {
        // EVP_MD_CTX_new only fails on allocation failure, which Swift treats as fatal anyway.
        guard let c = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        ctx = c
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Feeds bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(ctx, base, bytes.count)
    }

    /// Feeds bytes.
    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes and returns the checksum; the hasher is reset for reuse.
    public func finalize() -> Checksum {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &len)
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        // 32 bytes by construction.
        return Checksum(bytes: out)!
    }

    /// The checksum of a byte buffer.
    public static func hash(_ bytes: [UInt8]) -> Checksum {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }

    /// The checksum of a byte buffer.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Checksum {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }
}
