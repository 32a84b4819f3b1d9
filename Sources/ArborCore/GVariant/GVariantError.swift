// GVariantError.swift - errors thrown while parsing GVariant type strings and data.

/// An error raised while parsing a GVariant type string or serialized GVariant data.
///
/// Positions (`at:` and `offset:` values) are byte offsets from the start of the
/// buffer handed to the parser, unless stated otherwise.
public enum GVariantError: Error, Equatable, CustomStringConvertible {
    /// The type string is not exactly one complete, valid GVariant type.
    case invalidTypeString(String)
    /// The nesting of containers (arrays, tuples, dict entries, maybes, variants)
    /// is deeper than the allowed limit.
    case depthExceeded
    /// A value needed `expected` bytes but only `got` bytes were available.
    case truncated(expected: Int, got: Int)
    /// A value of type `type` has a size that its type does not allow
    /// (for example a fixed-size value with the wrong size, or an array of
    /// fixed-size elements whose size is not a multiple of the element size).
    case wrongSize(type: String, expected: Int, got: Int)
    /// A framing offset points outside its container, goes backwards, or the
    /// offset table itself is malformed. `offset` is the value read,
    /// `containerSize` the size of the container it belongs to.
    case badFramingOffset(offset: Int, containerSize: Int)
    /// A string, object path or signature is not valid (missing or extra NUL,
    /// invalid UTF-8, bad syntax). The payload says why.
    case badString(String)
    /// A boolean byte other than 0 or 1.
    case badBoolean(UInt8)
    /// A padding byte at position `at` is not zero.
    case nonZeroPadding(at: Int)
    /// A variant is malformed (no separator, bad or empty type string). The payload says why.
    case badVariant(String)
    /// A maybe value is malformed (a `Just` of a variable-size type does not end with a 0 byte).
    case badMaybe(String)
    /// Bytes are left over inside a container after its last child, starting at `at`.
    case trailingBytes(at: Int)

    /// One short human-readable line describing the error.
    public var description: String {
        switch self {
        case .invalidTypeString(let s):
            return "invalid GVariant type string: \(s)"
        case .depthExceeded:
            return "GVariant nesting depth exceeded"
        case .truncated(let expected, let got):
            return "GVariant data truncated: needed \(expected) bytes, got \(got)"
        case .wrongSize(let type, let expected, let got):
            return "GVariant value of type \(type) has wrong size \(got) (expected \(expected))"
        case .badFramingOffset(let offset, let containerSize):
            return "bad GVariant framing offset \(offset) in container of \(containerSize) bytes"
        case .badString(let why):
            return "bad GVariant string: \(why)"
        case .badBoolean(let b):
            return "bad GVariant boolean byte \(b)"
        case .nonZeroPadding(let at):
            return "non-zero GVariant padding byte at \(at)"
        case .badVariant(let why):
            return "bad GVariant variant: \(why)"
        case .badMaybe(let why):
            return "bad GVariant maybe: \(why)"
        case .trailingBytes(let at):
            return "unexpected trailing bytes in GVariant container at \(at)"
        }
    }
}
