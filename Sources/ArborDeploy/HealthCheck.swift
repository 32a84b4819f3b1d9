// Health checks that decide whether a boot was good (the role of greenboot's `required.d`):
// every executable regular file of a directory, in name order, each in its own process group
// with a time limit and stdin from /dev/null. A check that outlives its limit is killed with
// its whole group; and since arbor is the subreaper of its descendants, whatever a check left
// behind (a double fork, a new session) is killed and reaped when the check ends: no check can
// hold the boot's verdict, or its output, past its limit.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore
import CArborSystem

/// The result of one health check.
public struct HealthCheckResult: Sendable, Equatable {
    /// The check's file name.
    public var name: String
    /// Whether it exited 0 within its time limit.
    public var passed: Bool
    /// What happened: `exit N`, `signal N`, `timed out after S s`, or why it could not start.
    public var detail: String
}

/// Runs the health checks of a directory.
public enum HealthCheck {
    /// Runs every executable in `directory` in name order (hidden files and non-executables are
    /// skipped), each limited to `timeout` seconds; stops at nothing, so every result is reported.
    public static func run(directory: String, timeout: Double, log: (String) -> Void = { _ in }) throws -> [HealthCheckResult] {
        let dir: FileDescriptor
        do { dir = try openDirectory(path: directory) } catch {
            throw ArborError.notFound("health check directory \(directory) cannot be opened: \(error)")
        }
        // Orphans of a check become our children, where they can be found and killed.
        _ = arbor_set_child_subreaper()
        var results: [HealthCheckResult] = []
        for name in try dir.entries().sorted() where !name.hasPrefix(".") {
            guard let st = try dir.statIfExists(name), fileType(st) == S_IFREG || fileType(st) == S_IFLNK else { continue }
            guard faccessat(dir.raw, name, X_OK, 0) == 0 else { continue }
            log("Running health check \(name)")
            let r = runOne(path: dir.join(name), name: name, timeout: timeout)
            log("Health check \(name): \(r.passed ? "passed" : "failed") (\(r.detail))")
            results.append(r)
        }
        return results
    }

    /// Runs one check in a new process group; kills the group when it outlives `timeout`.
    static func runOne(path: String, name: String, timeout: Double) -> HealthCheckResult {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attr, 0)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        defer { for p in argv { free(p) } }
        defer { killDescendants() }
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        guard rc == 0 else {
            return HealthCheckResult(name: name, passed: false, detail: "cannot start: \(String(cString: strerror(rc)))")
        }
        let deadline = monotonicSeconds() + timeout
        var status: Int32 = 0
        while true {
            let w = waitpid(pid, &status, WNOHANG)
            if w == pid { break }
            if w < 0 && errno != EINTR {
                return HealthCheckResult(name: name, passed: false, detail: "wait failed: \(String(cString: strerror(errno)))")
            }
            if monotonicSeconds() >= deadline {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                return HealthCheckResult(name: name, passed: false, detail: "timed out after \(formatSeconds(timeout)) s")
            }
            usleep(20_000)
        }
        // The check's own children must not outlive it either.
        kill(-pid, SIGKILL)
        let signalled = (status & 0x7f) != 0
        if signalled { return HealthCheckResult(name: name, passed: false, detail: "signal \(status & 0x7f)") }
        let code = (status >> 8) & 0xff
        return HealthCheckResult(name: name, passed: code == 0, detail: "exit \(code)")
    }

    /// Kills every child of this process (a check and whatever it left behind, reparented to us
    /// as the subreaper) and reaps them, for at most a few seconds.
    static func killDescendants() {
        let deadline = monotonicSeconds() + 5
        while monotonicSeconds() < deadline {
            let children = childProcesses()
            for c in children { kill(c, SIGKILL) }
            var status: Int32 = 0
            while waitpid(-1, &status, WNOHANG) > 0 {}
            if children.isEmpty { return }
            usleep(10_000)
        }
    }

    /// The process ids of this process's children (`/proc/self/task/TID/children`).
    static func childProcesses() -> [pid_t] {
        guard let tasks = try? openDirectory(path: "/proc/self/task"), let tids = try? tasks.entries() else { return [] }
        var out: [pid_t] = []
        for tid in tids {
            guard let t = try? tasks.openDirectory(tid), let bytes = try? t.openRead("children").readAll(limit: 1 << 20) else { continue }
            out += bytes.split(separator: UInt8(ascii: " ")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }
        }
        return out
    }

    private static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }
}
