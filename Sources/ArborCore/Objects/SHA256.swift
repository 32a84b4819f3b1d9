// Streaming SHA-256 with OpenSSL's SHA256_* functions: the same CPU-specific block code as the
// EVP interface (chosen when libcrypto loads), without its provider lookup, which would touch
// about 2 MB of libcrypto at the first digest and take a lock at every init.
import COpenSSL

/// An incremental SHA-256 hasher. Not thread-safe; one per stream.
public final class SHA256Hasher {
    private var ctx = SHA256_CTX()

    /// Starts a new digest.
    public init() {
        SHA256_Init(&ctx)
    }

    /// Feeds bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        SHA256_Update(&ctx, base, bytes.count)
    }

    /// Feeds bytes.
    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes and returns the checksum; the hasher is reset for reuse.
    public func finalize() -> Checksum {
        var out = [UInt8](repeating: 0, count: 32)
        SHA256_Final(&out, &ctx)
        SHA256_Init(&ctx)
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
