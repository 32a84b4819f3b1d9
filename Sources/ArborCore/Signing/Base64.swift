// Standard base64 (RFC 4648), the text form of OSTree's ed25519 keys.

/// Base64 encoding and decoding.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes bytes with padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int((n >> UInt32(s)) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest > 1 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int((n >> 18) & 63)])
            out.append(alphabet[Int((n >> 12) & 63)])
            out.append(rest > 1 ? alphabet[Int((n >> 6) & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes text (whitespace ignored, padding optional); nil when malformed.
    public static func decode(_ text: String) -> [UInt8]? {
        var vals: [UInt8] = []
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): vals.append(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): vals.append(c - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): vals.append(c - 48 + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): vals.append(62)
            case UInt8(ascii: "/"), UInt8(ascii: "_"): vals.append(63)
            case UInt8(ascii: "="), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            default: return nil
            }
        }
        if vals.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < vals.count {
            let chunk = vals[i..<min(i + 4, vals.count)]
            var n: UInt32 = 0
            for (k, v) in chunk.enumerated() { n |= UInt32(v) << UInt32(18 - 6 * k) }
            out.append(UInt8((n >> 16) & 0xff))
            if chunk.count > 2 { out.append(UInt8((n >> 8) & 0xff)) }
            if chunk.count > 3 { out.append(UInt8(n & 0xff)) }
            i += 4
        }
        return out
    }
}
