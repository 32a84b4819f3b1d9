// Ed25519 signatures through OpenSSL's EVP interface, with keys in OSTree's text form (spec §6):
// a public key is base64 of its 32 bytes; a secret key is base64 of 64 bytes, seed then public key.
import COpenSSL

/// Ed25519 signing and verification.
public enum Ed25519 {
    /// A secret key: the 32-byte seed (the public half is derived).
    public struct SecretKey: Sendable {
        /// The seed.
        public let seed: [UInt8]
        /// Parses OSTree's base64 form (64 bytes seed ‖ public), or a bare 32-byte seed.
        public init(base64 text: String) throws {
            guard let raw = Base64.decode(text.trimmingSpaces), raw.count == 64 || raw.count == 32 else {
                throw ArborError.invalidArgument("invalid ed25519 secret key (expected base64 of 64 bytes)")
            }
            seed = Array(raw.prefix(32))
            if raw.count == 64, let pub = try? publicKey, pub.bytes != Array(raw.suffix(32)) {
                throw ArborError.invalidArgument("invalid ed25519 secret key: its public half does not match its seed")
            }
        }
        /// Wraps a raw seed.
        public init(seed: [UInt8]) throws {
            guard seed.count == 32 else { throw ArborError.invalidArgument("an ed25519 seed is 32 bytes") }
            self.seed = seed
        }
        /// The matching public key.
        public var publicKey: PublicKey {
            get throws {
                let pkey = try privateKey()
                defer { EVP_PKEY_free(pkey) }
                var out = [UInt8](repeating: 0, count: 32)
                var len = 32
                guard EVP_PKEY_get_raw_public_key(pkey, &out, &len) == 1, len == 32 else {
                    throw ArborError.invalidArgument("cannot derive the ed25519 public key")
                }
                return PublicKey(bytes: out)
            }
        }
        /// OSTree's text form: base64 of seed ‖ public key.
        public var base64: String { get throws { Base64.encode(seed + (try publicKey.bytes)) } }

        func privateKey() throws -> OpaquePointer {
            guard let k = seed.withUnsafeBufferPointer({ EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }) else {
                throw ArborError.invalidArgument("OpenSSL rejected the ed25519 key")
            }
            return k
        }

        /// Signs a message (the exact bytes of a commit or summary).
        public func sign(_ message: [UInt8]) throws -> [UInt8] {
            let pkey = try privateKey()
            defer { EVP_PKEY_free(pkey) }
            guard let ctx = EVP_MD_CTX_new() else { throw ArborError.invalidArgument("out of memory") }
            defer { EVP_MD_CTX_free(ctx) }
            guard EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1 else { throw ArborError.invalidArgument("ed25519 sign init failed") }
            var sig = [UInt8](repeating: 0, count: 64)
            var len = 64
            let ok = message.withUnsafeBufferPointer { m in EVP_DigestSign(ctx, &sig, &len, m.baseAddress, m.count) }
            guard ok == 1, len == 64 else { throw ArborError.invalidArgument("ed25519 signing failed") }
            return sig
        }
    }

    /// A public key.
    public struct PublicKey: Hashable, Sendable {
        /// The 32 raw bytes.
        public let bytes: [UInt8]
        /// Wraps raw bytes.
        public init(bytes: [UInt8]) { self.bytes = bytes }
        /// Parses base64 of 32 bytes.
        public init(base64 text: String) throws {
            guard let raw = Base64.decode(text.trimmingSpaces), raw.count == 32 else {
                throw ArborError.invalidArgument("invalid ed25519 public key (expected base64 of 32 bytes)")
            }
            bytes = raw
        }
        /// The base64 text form.
        public var base64: String { Base64.encode(bytes) }

        /// Whether `signature` is a valid signature of `message` by this key.
        public func verify(_ signature: [UInt8], message: [UInt8]) -> Bool {
            guard signature.count == 64 else { return false }
            guard let pkey = bytes.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }) else {
                return false
            }
            defer { EVP_PKEY_free(pkey) }
            guard let ctx = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(ctx) }
            guard EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1 else { return false }
            return signature.withUnsafeBufferPointer { s in
                message.withUnsafeBufferPointer { m in EVP_DigestVerify(ctx, s.baseAddress, 64, m.baseAddress, m.count) == 1 }
            }
        }
    }

    /// The base64 keys of a keys file (see `keyLines`); `path` is opened without following a
    /// symlink in its last component.
    public static func readKeysFile(_ path: String) throws -> [String] {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return keyLines(String(decoding: try openDirectory(path: dir).openRead(name).readAll(limit: 1 << 20), as: UTF8.self))
    }

    /// Reads keys from a file with one base64 key a line (blank lines and `#` comments ignored).
    public static func keyLines(_ text: String) -> [String] {
        // Split on the byte: in Swift "\r\n" is one Character and would not split on "\n".
        text.utf8.split(separator: UInt8(ascii: "\n")).map { String(Substring($0)).trimmingSpaces }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}
