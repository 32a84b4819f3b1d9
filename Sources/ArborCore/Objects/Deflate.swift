// Raw deflate streams (window bits -15) for `.filez` payloads (spec §5).
import CZlib
import CDeflate
import Dispatch

/// Compresses a stream into raw deflate.
final class RawDeflater {
    private var stream = z_stream()
    private var out = [UInt8](repeating: 0, count: 128 * 1024)

    init(level: Int32) throws {
        let r = deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if r != Z_OK { throw ArborError.invalidArgument("deflateInit failed (\(r))") }
    }

    deinit { deflateEnd(&stream) }

    /// Feeds input; `finish` flushes the end of the stream. Output goes to `sink`.
    func feed(_ input: UnsafeRawBufferPointer, finish: Bool, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        let flush = finish ? Z_FINISH : Z_NO_FLUSH
        while true {
            let (r, produced): (Int32, Int) = out.withUnsafeMutableBytes { o in
                stream.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(o.count)
                let r = deflate(&stream, flush)
                return (r, o.count - Int(stream.avail_out))
            }
            if r == Z_STREAM_ERROR { throw ArborError.invalidArgument("deflate failed") }
            if produced > 0 { try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            if finish {
                if r == Z_STREAM_END { return }
            } else if stream.avail_in == 0 && stream.avail_out != 0 {
                return
            }
        }
    }
}

/// Decompresses a raw deflate stream.
final class RawInflater {
    private var stream = z_stream()
    private var out = [UInt8](repeating: 0, count: 128 * 1024)
    private(set) var finished = false
    let object: String

    init(object: String) throws {
        self.object = object
        let r = inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if r != Z_OK { throw ArborError.invalidArgument("inflateInit failed (\(r))") }
    }

    deinit { inflateEnd(&stream) }

    /// Feeds compressed input; inflated bytes go to `sink`. Data after the end of the stream is an error.
    func feed(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        if input.isEmpty { return }
        if finished { throw ArborError.corruptObject(name: object, reason: "data after the end of the compressed stream") }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while stream.avail_in > 0 || !finished {
            let (r, produced): (Int32, Int) = out.withUnsafeMutableBytes { o in
                stream.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(o.count)
                let r = inflate(&stream, Z_NO_FLUSH)
                return (r, o.count - Int(stream.avail_out))
            }
            if produced > 0 { try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            switch r {
            case Z_STREAM_END:
                finished = true
                if stream.avail_in > 0 { throw ArborError.corruptObject(name: object, reason: "data after the end of the compressed stream") }
                return
            case Z_OK:
                if stream.avail_in == 0 && produced < out.count { return }
            case Z_BUF_ERROR:
                if stream.avail_in == 0 { return }
                throw ArborError.corruptObject(name: object, reason: "bad compressed data")
            default:
                throw ArborError.corruptObject(name: object, reason: "bad compressed data")
            }
        }
    }
}

/// Whole-buffer raw deflate with libdeflate; compressors are reused across calls.
final class FastDeflater: @unchecked Sendable {
    /// Buffers up to this size are compressed in one call; larger content streams through zlib.
    static let maxWholeBuffer = 2 << 20
    /// Buffers over this size are compressed one at a time (see `largeSlot`).
    static let smallBuffer = 256 << 10
    /// Held while a buffer over `smallBuffer` is compressed.
    static let largeSlot = DispatchSemaphore(value: 1)
    private let mutex = Mutex()
    private var free: [OpaquePointer] = []
    let level: Int32

    init(level: Int32) { self.level = level }

    deinit { for c in free { libdeflate_free_compressor(c) } }

    /// Compresses `input` and passes the raw deflate stream to `sink`.
    func compress(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let c = mutex.withLock({ free.popLast() }) ?? libdeflate_alloc_compressor(level) else {
            throw ArborError.invalidArgument("cannot allocate a deflate compressor")
        }
        defer { mutex.withLock { free.append(c) } }
        let bound = libdeflate_deflate_compress_bound(c, input.count)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bound, 16), alignment: 16)
        defer { out.deallocate() }
        let n = libdeflate_deflate_compress(c, input.baseAddress, input.count, out.baseAddress, out.count)
        guard n > 0 else { throw ArborError.invalidArgument("deflate failed") }
        try sink(UnsafeRawBufferPointer(rebasing: out[0..<n]))
    }
}

/// Whole-buffer raw inflate with libdeflate, for payloads whose inflated size is known (a
/// `.filez` header states it): several times faster than streaming through zlib.
final class FastInflater: @unchecked Sendable {
    /// Shared by every caller; decompressors are reused across calls and threads.
    static let shared = FastInflater()
    private let mutex = Mutex()
    private var free: [OpaquePointer] = []

    deinit { for d in free { libdeflate_free_decompressor(d) } }

    /// Inflates `input` into `output`, which must be exactly the inflated size: a stream that
    /// inflates to more or fewer bytes, is damaged, or is followed by other bytes throws.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, object: String) throws {
        guard let d = mutex.withLock({ free.popLast() }) ?? libdeflate_alloc_decompressor() else {
            throw ArborError.invalidArgument("cannot allocate a deflate decompressor")
        }
        defer { mutex.withLock { free.append(d) } }
        var consumed = 0, produced = 0
        // An empty output buffer still needs a valid address for libdeflate.
        var one: UInt8 = 0
        let r = withUnsafeMutablePointer(to: &one) { spare in
            libdeflate_deflate_decompress_ex(d, input.baseAddress ?? UnsafeRawPointer(spare), input.count,
                                             output.baseAddress ?? UnsafeMutableRawPointer(spare), output.count,
                                             &consumed, &produced)
        }
        switch r {
        case LIBDEFLATE_SUCCESS:
            if produced != output.count { throw ArborError.corruptObject(name: object, reason: "content shorter than its header says") }
            if consumed != input.count { throw ArborError.corruptObject(name: object, reason: "data after the end of the compressed stream") }
        case LIBDEFLATE_INSUFFICIENT_SPACE:
            throw ArborError.corruptObject(name: object, reason: "content longer than its header says")
        default:
            throw ArborError.corruptObject(name: object, reason: input.isEmpty ? "truncated compressed data" : "bad compressed data")
        }
    }
}
