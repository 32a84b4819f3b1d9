// /run/ostree-booted, the marker that says "this system was booted from an ostree deployment".
// ostree 2022.7 only checks that it exists; 2023.6+ reads it as a GVariant of type `a{sv}`, and
// 2024.2+ finds the booted deployment by its `backing-root-device-inode` entry. So Arbor writes
// that dictionary:
//
//     backing-root-device-inode  (tt)  st_dev, st_ino of the deployment directory
//     sysroot-ro                 b     whether the physical root was made read-only
//
// Serialised by hand in GVariant normal form (little-endian): a dictionary entry `{sv}` is the
// key with its NUL, zero padding to 8, the variant (value bytes, a NUL, the type string), then
// one framing offset giving the key's end; the array is its entries, each padded to 8, then a
// framing offset per entry giving its end. Offsets are 1, 2, 4 or 8 bytes, the smallest that
// can address the whole container including the offsets themselves.

/// A value stored in the marker.
enum MarkerValue {
    /// `b`: one byte, 0 or 1.
    case boolean(Bool)
    /// `(tt)`: two little-endian 64-bit integers.
    case uint64Pair(UInt64, UInt64)

    /// The GVariant type string.
    var typeString: String {
        switch self {
        case .boolean: return "b"
        case .uint64Pair: return "(tt)"
        }
    }

    /// The value's serialised bytes.
    var bytes: [UInt8] {
        switch self {
        case .boolean(let flag):
            return [flag ? 1 : 0]
        case .uint64Pair(let first, let second):
            return littleEndian(first) + littleEndian(second)
        }
    }

    /// The eight little-endian bytes of `value`.
    private func littleEndian(_ value: UInt64) -> [UInt8] {
        return (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
}

/// Writing /run/ostree-booted.
enum BootedMarker {
    /// The serialised `a{sv}` for `entries`, in the given order.
    static func serialize(_ entries: [(key: String, value: MarkerValue)]) -> [UInt8] {
        var body: [UInt8] = []
        var ends: [Int] = []
        for entry in entries {
            pad(&body, to: 8)
            body += dictionaryEntry(key: entry.key, value: entry.value)
            ends.append(body.count)
        }
        return frame(body, offsets: ends)
    }

    /// One `{sv}` entry, serialised as if it started at an 8-aligned offset.
    static func dictionaryEntry(key: String, value: MarkerValue) -> [UInt8] {
        var entry = Array(key.utf8) + [0]
        let keyEnd = entry.count
        pad(&entry, to: 8)
        entry += value.bytes + [0] + Array(value.typeString.utf8)
        return frame(entry, offsets: [keyEnd])
    }

    /// `body` followed by its framing offsets, each in the smallest size that fits.
    static func frame(_ body: [UInt8], offsets: [Int]) -> [UInt8] {
        guard !offsets.isEmpty else { return body }
        var size = 1
        while size < 8 && body.count + size * offsets.count > (1 << (8 * size)) - 1 { size *= 2 }
        var out = body
        for offset in offsets {
            for byte in 0..<size { out.append(UInt8(truncatingIfNeeded: offset >> (8 * byte))) }
        }
        return out
    }

    /// Appends zero bytes until `bytes.count` is a multiple of `alignment`.
    static func pad(_ bytes: inout [UInt8], to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// Writes the marker for `deployment` into the directory `runDirectory` (created if
    /// missing, mode 0755), atomically and with mode 0640 as ostree does.
    static func write(runDirectory: String, deployment: ResolvedDeployment, sysrootReadOnly: Bool) throws {
        try FileSystem.makeDirectory(runDirectory, mode: 0o755)
        let bytes = serialize([
            ("backing-root-device-inode", .uint64Pair(deployment.device, deployment.inode)),
            ("sysroot-ro", .boolean(sysrootReadOnly)),
        ])
        try FileSystem.writeAtomically(runDirectory + "/ostree-booted", bytes, mode: 0o640)
    }
}
