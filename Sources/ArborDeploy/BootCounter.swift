// Boot counting (the Boot Loader Specification's "automatic boot assessment", as systemd-boot
// implements it): a counted entry is named `PREFIX+LEFT[-DONE].conf`. The boot loader renames it
// to `+(LEFT-1)-(DONE+1)` before each attempt; the booted system strips the counter once the boot
// is judged good; `+0-DONE` is bad and sorts last. An entry without a counter is good.
// Counters belong to deployments: the index in an entry's name moves between deploys, so every
// rewrite of the entries carries each deployment's counter over under its new name.
import ArborCore

/// A boot entry's tries left and tries done.
public struct BootCounter: Sendable, Equatable, Hashable {
    /// Attempts left before the entry is bad.
    public var left: Int
    /// Attempts made so far.
    public var done: Int

    /// The most tries `[sysroot] boot-counting-tries` and `--boot-tries` accept (as ostree 2025.3).
    public static let maximumTries = 5

    /// Creates a counter.
    public init(left: Int, done: Int) {
        self.left = left
        self.done = done
    }

    /// The counter after one more boot attempt (what the boot loader writes before booting).
    public var bumped: BootCounter { BootCounter(left: max(left - 1, 0), done: done + 1) }

    /// Bad: no tries left.
    public var isBad: Bool { left == 0 }

    /// `+LEFT` or `+LEFT-DONE` (DONE only when non-zero, as systemd writes it).
    public var suffix: String { done == 0 ? "+\(left)" : "+\(left)-\(done)" }

    /// Splits an entry file name into its name without the counter and the counter, with
    /// systemd-boot's rules: the last `+`, decimal LEFT, optional `-DONE`, then exactly `.conf`
    /// (any case). A name that does not match is uncounted and returned whole (minus `.conf`).
    public static func parse(fileName: String) -> (base: String, counter: BootCounter?)? {
        let bytes = Array(fileName.utf8)
        guard bytes.count > 5, String(decoding: bytes[(bytes.count - 5)...], as: UTF8.self).lowercased() == ".conf" else { return nil }
        let stem = Array(bytes[..<(bytes.count - 5)])
        let whole = String(decoding: stem, as: UTF8.self)
        guard let plus = stem.lastIndex(of: UInt8(ascii: "+")) else { return (whole, nil) }
        var i = plus + 1
        func number() -> Int? {
            let start = i
            var n = 0
            while i < stem.count, stem[i] >= 0x30, stem[i] <= 0x39 {
                // More digits than any real counter has: not a counter (and no overflow).
                if i - start >= 9 { return nil }
                n = n * 10 + Int(stem[i] - 0x30)
                i += 1
            }
            return i > start ? n : nil
        }
        guard let left = number() else { return (whole, nil) }
        var done = 0
        if i < stem.count {
            guard stem[i] == UInt8(ascii: "-") else { return (whole, nil) }
            i += 1
            guard let d = number() else { return (whole, nil) }
            done = d
        }
        guard i == stem.count else { return (whole, nil) }
        return (String(decoding: stem[..<plus], as: UTF8.self), BootCounter(left: left, done: done))
    }

    /// The entry file name for `base` with `counter` (nil: uncounted).
    public static func fileName(base: String, counter: BootCounter?) -> String {
        base + (counter?.suffix ?? "") + ".conf"
    }

    /// Checks a configured number of tries (0 turns counting off).
    public static func validateTries(_ n: Int, source: String) throws -> Int {
        guard (0...maximumTries).contains(n) else {
            throw ArborError.invalidArgument("\(source): \(n) is out of range (0 to \(maximumTries); 0 turns boot counting off)")
        }
        return n
    }
}

/// How the boot loader regards a deployment's entry.
public enum BootAssessment: String, Sendable, Equatable {
    /// No counter: the entry booted successfully (or was never counted).
    case good
    /// Counted with tries left: not yet judged.
    case indeterminate
    /// Counted with no tries left: the boot loader skips it while another entry is not bad.
    case bad

    /// The assessment of an entry with this counter.
    public init(_ counter: BootCounter?) {
        guard let c = counter else { self = .good; return }
        self = c.isBad ? .bad : .indeterminate
    }
}
