// Boot Loader Specification entries (spec §9): `boot/loader.N/entries/ostree-K-STATEROOT.conf`, one
// `key value` per line. OSTree writes title, version, options, devicetree, linux, initrd in that
// order, then any other keys; K = number of deployments - index, so the default sorts first.
import ArborCore

/// One BLS entry file.
public struct BootEntry: Sendable, Equatable {
    /// Keys and values in file order (a key such as `initrd` may repeat).
    public var fields: [(key: String, value: String)]

    /// The order OSTree writes well-known keys in.
    static let keyOrder = ["title", "version", "options", "devicetree", "linux", "initrd"]

    /// An empty entry.
    public init() { fields = [] }

    /// Parses an entry: each line is a key, whitespace, and the rest of the line as the value.
    public init(text: String) {
        fields = []
        // Split on the byte: in Swift "\r\n" is one Character and would not split on "\n".
        for raw in text.utf8.split(separator: UInt8(ascii: "\n")) {
            let line = String(Substring(raw)).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            // The key ends at the first space or tab byte (a space followed by a combining mark
            // is one Character, but the boot loader reads bytes).
            let bytes = line.utf8
            if let sp = bytes.firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                fields.append((String(decoding: bytes[..<sp], as: UTF8.self), String(decoding: bytes[sp...], as: UTF8.self).trimmingSpaces))
            } else {
                fields.append((line, ""))
            }
        }
    }

    /// The first value of `key`.
    public subscript(key: String) -> String? {
        get { fields.first { $0.key == key }?.value }
        set {
            fields.removeAll { $0.key == key }
            if let v = newValue { fields.append((key, v)) }
        }
    }

    /// The file text in OSTree's key order.
    public var text: String {
        var out = ""
        for k in Self.keyOrder { for f in fields where f.key == k { out += "\(f.key) \(f.value)\n" } }
        for f in fields where !Self.keyOrder.contains(f.key) { out += "\(f.key) \(f.value)\n" }
        return out
    }

    public static func == (a: BootEntry, b: BootEntry) -> Bool {
        a.fields.map { "\($0.key) \($0.value)" } == b.fields.map { "\($0.key) \($0.value)" }
    }

    /// The file name OSTree gives the entry of deployment `index` out of `count`, with the
    /// deployment's boot counter (`ostree-I-OS+LEFT-DONE.conf`) as ostree 2025.3 writes it.
    public static func fileName(index: Int, count: Int, stateroot: String, counter: BootCounter? = nil) -> String {
        BootCounter.fileName(base: "ostree-\(count - index)-\(stateroot)", counter: counter)
    }

    /// The title: os-release name, the commit version unless already in it, and `(ostree:[STATEROOT:]INDEX)`.
    public static func title(osName: String, version: String?, stateroot: String, index: Int, showStateroot: Bool) -> String {
        var t = osName
        if let v = version, !v.isEmpty, !osName.contains(v) { t += " " + v }
        return t + " (ostree" + (showStateroot ? ":\(stateroot)" : "") + ":\(index))"
    }
}

/// Kernel arguments as a list, in order; `ostree=` is kept in its place.
public enum KernelArgs {
    /// Splits an `options` line on spaces and tabs outside double quotes, by byte as the kernel
    /// does: as Characters, a space followed by a combining mark is one Character and would not
    /// split (found by fuzzing).
    public static func split(_ options: String) -> [String] {
        var out: [String] = []
        var cur: [UInt8] = [], quoted = false
        for b in options.utf8 {
            if b == UInt8(ascii: "\"") { quoted.toggle() }
            if (b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")) && !quoted {
                if !cur.isEmpty { out.append(String(decoding: cur, as: UTF8.self)); cur = [] }
            } else {
                cur.append(b)
            }
        }
        if !cur.isEmpty { out.append(String(decoding: cur, as: UTF8.self)) }
        return out
    }

    /// The key of an argument (`root` for `root=LABEL=x`).
    public static func key(_ arg: String) -> String {
        // By byte: `=` followed by a combining mark is one Character, which the kernel still splits at.
        let bytes = arg.utf8
        return bytes.firstIndex(of: UInt8(ascii: "=")).map { String(decoding: bytes[..<$0], as: UTF8.self) } ?? arg
    }

    /// Replaces every argument with the same key as each of `args` (the first in place), or appends it, as `ostree admin deploy --karg` does.
    public static func replace(_ base: [String], with args: [String]) -> [String] {
        var out = base
        for a in args {
            let k = key(a)
            if let i = out.firstIndex(where: { key($0) == k }) {
                out[i] = a
                var j = out.count - 1
                while j > i { if key(out[j]) == k { out.remove(at: j) }; j -= 1 }
            } else {
                out.append(a)
            }
        }
        return out
    }

    /// The `ostree=` arguments, also behind a quote that opens the argument (the kernel drops it).
    public static func ostreeArguments(_ args: [String]) -> [String] {
        args.filter { key($0) == "ostree" || key($0) == "\"ostree" }
    }

    /// The arguments without `ostree=`.
    public static func withoutOstree(_ args: [String]) -> [String] { args.filter { key($0) != "ostree" } }

    /// Sets `ostree=VALUE`, in place when present, else at the end.
    public static func settingOstree(_ args: [String], _ value: String) -> [String] {
        var out = args
        if let i = out.firstIndex(where: { key($0) == "ostree" }) {
            out[i] = "ostree=" + value
            out = out.enumerated().filter { $0.offset == i || key($0.element) != "ostree" }.map(\.element)
        } else {
            out.append("ostree=" + value)
        }
        return out
    }
}
