// A minimal JSON writer with stable key order, for every --json output.
import ArborCore

/// A JSON value.
indirect enum JSON {
    case string(String), int(Int64), uint(UInt64), bool(Bool), null
    case array([JSON])
    case object([(String, JSON)])

    /// Compact-free, two-space indented text.
    func render(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent + 2), end = String(repeating: " ", count: indent)
        switch self {
        case let .string(s): return quote(s)
        case let .int(i): return String(i)
        case let .uint(u): return String(u)
        case let .bool(b): return b ? "true" : "false"
        case .null: return "null"
        case let .array(a):
            if a.isEmpty { return "[]" }
            return "[\n" + a.map { pad + $0.render(indent: indent + 2) }.joined(separator: ",\n") + "\n" + end + "]"
        case let .object(o):
            if o.isEmpty { return "{}" }
            return "{\n" + o.map { pad + quote($0.0) + ": " + $0.1.render(indent: indent + 2) }.joined(separator: ",\n") + "\n" + end + "}"
        }
    }

    private func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

extension JSON {
    /// A GVariant as JSON: numbers, strings, arrays; byte strings as hex; dictionaries as objects.
    init(_ v: GVariant) {
        switch v {
        case let .boolean(b): self = .bool(b)
        case let .byte(b): self = .uint(UInt64(b))
        case let .int16(i): self = .int(Int64(i))
        case let .uint16(i): self = .uint(UInt64(i))
        case let .int32(i): self = .int(Int64(i))
        case let .uint32(i): self = .uint(UInt64(i))
        case let .int64(i): self = .int(i)
        case let .uint64(i): self = .uint(i)
        case let .double(d): self = .string(String(d))
        case let .string(s), let .objectPath(s), let .signature(s): self = .string(s)
        case let .bytes(b): self = .string(b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        case let .array(_, items):
            if items.allSatisfy({ if case .dictEntry(.string, _) = $0 { return true }; return false }), !items.isEmpty {
                self = .object(items.compactMap {
                    guard case let .dictEntry(.string(k), val) = $0 else { return nil }
                    return (k, JSON(val))
                })
            } else {
                self = .array(items.map(JSON.init))
            }
        case let .tuple(items): self = .array(items.map(JSON.init))
        case let .dictEntry(k, val): self = .array([JSON(k), JSON(val)])
        case let .variant(inner): self = JSON(inner)
        case let .maybe(_, inner): self = inner.map(JSON.init) ?? .null
        }
    }
}
