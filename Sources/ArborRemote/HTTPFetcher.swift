// Concurrent HTTP(S) and file:// GETs through libcurl's multi interface: keep-alive connections
// (HTTP/1.1) or one multiplexed connection (HTTP/2 over TLS), retries with backoff on transient
// errors, timeouts, and a concurrency that adapts to the throughput it observes.
import ArborCore
import CArborCurl
#if canImport(Glibc)
import Glibc
#endif

/// Why a fetch failed.
public enum FetchError: Error, CustomStringConvertible {
    /// The server answered 404 (or the file does not exist).
    case notFound(String)
    /// The server answered with another error status.
    case http(String, Int)
    /// The transfer failed (connection, timeout, ...).
    case transport(String, String)

    public var description: String {
        switch self {
        case let .notFound(url): return "\(url): not found"
        case let .http(url, status): return "\(url): HTTP status \(status)"
        case let .transport(url, why): return "\(url): \(why)"
        }
    }
}

/// A finished fetch.
public struct FetchResponse: Sendable {
    /// The body held in memory (empty for HEAD, and when it was kept in `file`).
    public var body: [UInt8]
    /// The body kept in an unlinked temporary file instead (read from offset 0): a body larger
    /// than the fetcher's spill limit, when the request allowed it.
    public var file: FileDescriptor?
    /// The body's length, wherever it is.
    public var size: Int
    /// The Content-Length the server announced, if any.
    public var contentLength: Int64?
}

/// Runs many GET/HEAD requests at once. `get` may be called from any thread; callbacks run on the
/// thread inside `run`.
public final class HTTPFetcher: @unchecked Sendable {
    private final class Request {
        let url: String
        let head: Bool
        /// Where a body over `spillLimit` goes instead of memory (nil: always memory).
        let spillDirectory: FileDescriptor?
        let spillLimit: Int
        let completion: (Result<FetchResponse, FetchError>) -> Void
        var attempts = 0
        var notBefore: Double = 0
        var handle: UnsafeMutableRawPointer?
        var started = false
        var body: [UInt8] = []
        var file: FileDescriptor?
        var fileSize = 0
        /// Why the body could not be kept (the transfer is then failed, not retried).
        var keepError: String?
        init(url: String, head: Bool, spillDirectory: FileDescriptor?, spillLimit: Int,
             completion: @escaping (Result<FetchResponse, FetchError>) -> Void) {
            self.url = url
            self.head = head
            self.spillDirectory = spillDirectory
            self.spillLimit = spillLimit
            self.completion = completion
        }

        var size: Int { file == nil ? body.count : fileSize }

        func reset() {
            started = false
            body = []
            file = nil
            fileSize = 0
            keepError = nil
        }

        /// Takes a chunk of the body; false stops the transfer.
        func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
            do {
                if !started {
                    started = true
                    // Sized once from Content-Length: no growth by doubling, and large bodies
                    // go to a file from their first byte.
                    let announced = handle.map { arbor_curl_content_length($0) } ?? -1
                    if announced > Int64(spillLimit) && spillDirectory != nil {
                        try spill()
                    } else if announced > 0 {
                        body.reserveCapacity(Int(announced))
                    }
                }
                if file == nil && body.count + chunk.count > spillLimit && spillDirectory != nil { try spill() }
                if let f = file {
                    try f.writeAll(chunk)
                    fileSize += chunk.count
                } else {
                    body.append(contentsOf: chunk)
                }
                return true
            } catch {
                keepError = "\(error)"
                return false
            }
        }

        private func spill() throws {
            guard let dir = spillDirectory else { return }
            let f = try openUnlinkedFile(in: dir)
            try f.writeAll(body)
            fileSize = body.count
            body = []
            file = f
        }
    }

    /// A body over this size goes to a file when the request allows it.
    public let spillLimit: Int
    private let spillDirectory: FileDescriptor?

    /// nil once libcurl is loaded and initialised, else why it is not.
    private static let loadFailure: String? = {
        if let why = arbor_curl_load() { return String(cString: why) }
        return curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK ? nil : "cannot initialise libcurl"
    }()

    private let multi: UnsafeMutableRawPointer
    private let mutex = Mutex()
    private var queued: [Request] = []
    private var active: [UnsafeMutableRawPointer: (UnsafeMutableRawPointer, Request)] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    /// The most transfers in flight.
    public let maxConcurrency: Int
    /// The current concurrency target.
    public private(set) var concurrency: Int
    /// Bytes received so far.
    public private(set) var bytesReceived: UInt64 = 0
    /// Requests completed so far.
    public private(set) var requestsCompleted = 0
    /// Attempts that were retried.
    public private(set) var retries = 0
    private let maxAttempts = 5

    // Adaptive concurrency: compare throughput between one-second windows.
    private var windowStart = monotonicSeconds()
    private var windowBytes: UInt64 = 0
    private var lastRate: Double = 0

    /// A transfer slower than 100 bytes/s for this many seconds is abandoned (and retried).
    public let stallTimeout: Int

    /// Creates a fetcher allowing at most `maxConcurrency` transfers in flight.
    /// Bodies over `spillLimit` bytes of requests that allow it are kept in unlinked files in
    /// `spillDirectory` (the repository's tmp/) rather than in memory.
    public init(maxConcurrency: Int = 64, stallTimeout: Int = 60, spillDirectory: FileDescriptor? = nil, spillLimit: Int = 1 << 20) throws {
        self.stallTimeout = max(1, stallTimeout)
        self.spillDirectory = spillDirectory
        self.spillLimit = max(0, spillLimit)
        if let why = Self.loadFailure { throw ArborError.unsupported(why) }
        guard let m = curl_multi_init() else { throw ArborError.unsupported("cannot initialise libcurl") }
        multi = m
        self.maxConcurrency = max(1, maxConcurrency)
        concurrency = min(self.maxConcurrency, 8)
        _ = arbor_curlm_set_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        _ = arbor_curlm_set_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, self.maxConcurrency)
    }

    deinit {
        for (_, (h, _)) in active { curl_multi_remove_handle(multi, h); curl_easy_cleanup(h) }
        for h in idleHandles { curl_easy_cleanup(h) }
        curl_multi_cleanup(multi)
    }

    /// Queues a GET (or HEAD) of `url`. With `spill`, a large body may arrive in a file.
    public func get(_ url: String, head: Bool = false, spill: Bool = false,
                    completion: @escaping (Result<FetchResponse, FetchError>) -> Void) {
        let req = Request(url: url, head: head, spillDirectory: spill ? spillDirectory : nil, spillLimit: spillLimit,
                          completion: completion)
        mutex.withLock { queued.append(req) }
        curl_multi_wakeup(multi)
    }

    /// Wakes `run` (for example when outside work finished).
    public func wake() { curl_multi_wakeup(multi) }

    private var cancelled = false

    /// Fails every queued request (with "cancelled") instead of starting it: used once the
    /// caller has given up, so that it does not wait for work whose result no longer matters.
    public func cancel() {
        mutex.withLock { cancelled = true }
        curl_multi_wakeup(multi)
    }

    /// Drives transfers until nothing is queued or in flight and `idle()` is true. `idle` is
    /// called on every turn of the loop, so the caller can also do periodic work in it.
    public func run(idle: () -> Bool) throws {
        while true {
            if mutex.withLock({ cancelled }) {
                let dropped: [Request] = mutex.withLock {
                    let q = queued
                    queued.removeAll()
                    return q
                }
                for r in dropped { r.completion(.failure(.transport(r.url, "cancelled"))) }
            }
            startTransfers()
            var running: Int32 = 0
            let mc = curl_multi_perform(multi, &running)
            if mc != CURLM_OK { throw ArborError.invalidArgument("libcurl: \(String(cString: curl_multi_strerror(mc)))") }
            collectFinished()
            let outsideIdle = idle()
            let (q, a) = mutex.withLock { (queued.count, active.count) }
            if q == 0 && a == 0 && outsideIdle { return }
            var numfds: Int32 = 0
            curl_multi_poll(multi, nil, 0, a == 0 ? 50 : 200, &numfds)
            adapt()
        }
    }

    private func startTransfers() {
        let now = monotonicSeconds()
        while active.count < concurrency {
            let next: Request? = mutex.withLock {
                guard let i = queued.firstIndex(where: { $0.notBefore <= now }) else { return nil }
                return queued.remove(at: i)
            }
            guard let req = next else { return }
            let h: UnsafeMutableRawPointer
            if let idle = idleHandles.popLast() { curl_easy_reset(idle); h = idle } else {
                guard let e = curl_easy_init() else {
                    req.completion(.failure(.transport(req.url, "cannot create a transfer")))
                    continue
                }
                h = e
            }
            req.reset()
            req.handle = h
            req.attempts += 1
            let key = Unmanaged.passUnretained(req).toOpaque()
            _ = arbor_curl_set_str(h, CURLOPT_URL, req.url)
            _ = arbor_curl_set_write_cb(h, { ptr, size, n, ud in
                guard let ud = ud, let ptr = ptr else { return 0 }
                let r = Unmanaged<Request>.fromOpaque(ud).takeUnretainedValue()
                let count = size * n
                return r.receive(UnsafeRawBufferPointer(start: ptr, count: count)) ? count : 0
            }, key)
            _ = arbor_curl_set_ptr(h, CURLOPT_PRIVATE, key)
            _ = arbor_curl_set_long(h, CURLOPT_NOSIGNAL, 1)
            _ = arbor_curl_set_long(h, CURLOPT_FOLLOWLOCATION, 1)
            _ = arbor_curl_set_long(h, CURLOPT_CONNECTTIMEOUT, min(30, stallTimeout))
            _ = arbor_curl_set_long(h, CURLOPT_LOW_SPEED_LIMIT, 100)
            _ = arbor_curl_set_long(h, CURLOPT_LOW_SPEED_TIME, stallTimeout)
            _ = arbor_curl_set_long(h, CURLOPT_TCP_KEEPALIVE, 1)
            _ = arbor_curl_set_long(h, CURLOPT_PIPEWAIT, 1)
            _ = arbor_curl_set_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
            _ = arbor_curl_set_str(h, CURLOPT_USERAGENT, "arbor/1")
            if req.head { _ = arbor_curl_set_long(h, CURLOPT_NOBODY, 1) }
            active[key] = (h, req)
            curl_multi_add_handle(multi, h)
        }
    }

    private func collectFinished() {
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            var easy: UnsafeMutableRawPointer?
            var result = CURLE_OK
            guard arbor_curl_msg_done(msg, &easy, &result) == 1, let h = easy,
                  let key = arbor_curl_private(h), let (_, req) = active.removeValue(forKey: key) else { continue }
            let status = arbor_curl_status(h)
            let length = arbor_curl_content_length(h)
            curl_multi_remove_handle(multi, h)
            idleHandles.append(h)
            let isFile = req.url.hasPrefix("file:")
            req.handle = nil
            if result == CURLE_OK && (status == 200 || status == 206 || (isFile && status == 0)) {
                bytesReceived += UInt64(req.size)
                windowBytes += UInt64(req.size)
                requestsCompleted += 1
                let response = FetchResponse(body: req.body, file: req.file, size: req.size, contentLength: length >= 0 ? length : nil)
                req.reset()
                req.completion(.success(response))
                continue
            }
            if let why = req.keepError {
                // Not the network's fault (a full disk, say): retrying would not help.
                requestsCompleted += 1
                req.reset()
                req.completion(.failure(.transport(req.url, "cannot keep the download: \(why)")))
                continue
            }
            if (result == CURLE_OK && status == 404) || result == CURLE_FILE_COULDNT_READ_FILE || result == CURLE_REMOTE_FILE_NOT_FOUND {
                requestsCompleted += 1
                req.completion(.failure(.notFound(req.url)))
                continue
            }
            let transient = result != CURLE_OK || status >= 500 || status == 429 || status == 408
            if transient && req.attempts < maxAttempts {
                // Back off exponentially, and ease the load on a struggling server.
                retries += 1
                req.notBefore = monotonicSeconds() + 0.2 * Double(1 << (req.attempts - 1))
                concurrency = max(2, concurrency - 1)
                mutex.withLock { queued.append(req) }
                continue
            }
            requestsCompleted += 1
            if result != CURLE_OK {
                req.completion(.failure(.transport(req.url, String(cString: curl_easy_strerror(result)))))
            } else {
                req.completion(.failure(.http(req.url, status)))
            }
        }
    }

    private func adapt() {
        let now = monotonicSeconds()
        guard now - windowStart >= 0.5 else { return }
        let rate = Double(windowBytes) / (now - windowStart)
        let busy = active.count >= concurrency
        if busy && rate >= lastRate * 1.05 && concurrency < maxConcurrency {
            concurrency = min(maxConcurrency, concurrency + max(2, concurrency / 2))
        } else if rate < lastRate * 0.7 && concurrency > 4 {
            concurrency -= 2
        }
        lastRate = rate
        windowBytes = 0
        windowStart = now
    }
}


/// An unlinked temporary file in `dir` (O_TMPFILE, or a name removed at once where unsupported).
func openUnlinkedFile(in dir: FileDescriptor) throws -> FileDescriptor {
    // O_TMPFILE (__O_TMPFILE | O_DIRECTORY) is a macro Swift does not import.
    let oTmpfile: Int32 = 0o20000000 | O_DIRECTORY
    let fd = openat(dir.raw, ".", oTmpfile | O_RDWR | O_CLOEXEC, 0o600)
    if fd >= 0 { return FileDescriptor(raw: fd, path: dir.path + "/(download)") }
    let name = ".download-\(randomSuffix(10))"
    let f = try dir.openat(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: 0o600)
    try? dir.unlink(name)
    return f
}
