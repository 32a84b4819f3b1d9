// How values that come from outside (the ostree= value, link targets, paths, configuration lines,
// option words) appear in a message: bounded, so that a hostile megabyte-long value cannot flood
// the console, and as text even when the bytes are not UTF-8. Control characters are escaped
// later, for the whole line, by Console.printable.

/// Turning outside values into the text of a message.
enum Shown {
    /// The most bytes of one value shown; a longer value is cut and ends in "...".
    static let limit = 256

    /// `text` cut to at most `limit` bytes at a scalar boundary, followed by "..." when cut.
    static func clip(_ text: String) -> String {
        guard text.utf8.count > limit else { return text }
        var out = ""
        var used = 0
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            if used + width > limit { break }
            out.unicodeScalars.append(scalar)
            used += width
        }
        return out + "..."
    }

    /// Raw bytes as text: valid UTF-8 as is, any other byte as `\xNN`. Only the first
    /// `limit + 1` bytes are looked at (enough for clip to see that the value was longer).
    static func bytes(_ raw: [UInt8]) -> String {
        let part = Array(raw.prefix(limit + 1))
        if let text = String(validating: part, as: UTF8.self) { return text }
        var out = ""
        var index = 0
        while index < part.count {
            // The shortest valid sequence at `index` is one scalar (a lead byte and its
            // continuation bytes); none valid means a stray byte.
            var decoded: String?
            var length = 1
            while decoded == nil && length <= 4 && index + length <= part.count {
                decoded = String(validating: part[index..<(index + length)], as: UTF8.self)
                if decoded == nil { length += 1 }
            }
            if let scalar = decoded {
                out += scalar
                index += length
            } else {
                out += "\\x" + hex(part[index])
                index += 1
            }
        }
        return out
    }

    /// Two lowercase hexadecimal digits.
    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0f)])
    }
}
