// `admin bless-boot`: the booted system's verdict on its own boot, written into the name of its
// boot entry (see BootCounter). `good` strips the counter, `bad` sets LEFT to 0 so the boot
// loader skips the entry from the next boot on. The entry is found through the booted deployment
// (device and inode of `/`), in the entries directory current at that moment, under the sysroot
// lock: a deploy since boot renamed the entries, and one running now would copy a stale counter.
// Marking is one `rename` in the entries directory followed by `fsync` of the directory.
// After a fallback (the default's entry went bad and an older deployment booted), `good` also
// makes the booted deployment the default again and records the failed commits, so that the
// node stays where it works and an updater does not deploy the same commit again.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// The verdict on a boot.
public enum BootVerdict: String, Sendable {
    /// The boot succeeded: the counter goes.
    case good
    /// The boot failed: no tries left.
    case bad
}

/// What `bless-boot` did.
public struct BlessResult: Sendable {
    /// The booted deployment.
    public var deployment: Deployment
    /// Its entry's file name before and after.
    public var oldEntry: String, newEntry: String
    /// Whether the booted deployment was a fallback from a default that failed to boot.
    public var fallback: Bool
    /// Whether the booted deployment was made the default (after a fallback).
    public var madeDefault: Bool
    /// The commits recorded as failed to boot.
    public var recordedFailures: [Checksum]
}

/// The booted deployment's boot assessment (`bless-boot status`).
public struct BootAssessmentStatus: Sendable {
    /// The booted deployment.
    public var deployment: Deployment
    /// Its entry's file name.
    public var entry: String
    /// good, indeterminate or bad.
    public var assessment: BootAssessment
    /// Its counter, if any.
    public var counter: BootCounter?
    /// Whether it was a fallback from a default that failed to boot.
    public var fallback: Bool
    /// Whether a reboot moves on after a failed boot: the entry is counted, and either has tries
    /// left or another entry is not bad (so the boot loader starts that one). Otherwise the same
    /// entry would boot again, for ever.
    public var rebootMovesOn: Bool
}

extension SysrootState {
    /// Whether `booted` is a fallback: it is not the default, and every deployment before it is bad.
    public func isFallback(booted: Deployment?) -> Bool {
        guard let b = booted, let i = deployments.firstIndex(where: { $0.sameCheckout(b) }), i > 0 else { return false }
        return deployments[..<i].allSatisfy { $0.bootAssessment == .bad }
    }

    /// The deployment the boot loader starts next, by systemd-boot's rules for ostree's entries
    /// (which order as the deployments do): the first whose entry is not bad, else the first.
    public var nextBoot: Deployment? {
        deployments.first { $0.bootAssessment != .bad } ?? deployments.first
    }
}

extension Sysroot {
    /// The booted deployment's entry and assessment.
    public func bootAssessment() throws -> BootAssessmentStatus {
        let state = try load()
        let booted = try requireBooted(state)
        let others = state.deployments.contains { !$0.sameCheckout(booted) && $0.bootAssessment != .bad }
        let movesOn = booted.bootCounter.map { $0.left > 0 || others } ?? false
        return BootAssessmentStatus(deployment: booted, entry: booted.entryFileName ?? "", assessment: booted.bootAssessment,
                                    counter: booted.bootCounter, fallback: state.isFallback(booted: booted), rebootMovesOn: movesOn)
    }

    /// Marks the booted deployment's entry good or bad (see the file comment).
    public func blessBoot(_ verdict: BootVerdict, log: (String) -> Void = { _ in }) throws -> BlessResult {
        let lock = try self.lock(waiting: { log("Waiting for sysroot lock...") })
        defer { lock.release() }
        let state = try load()
        let booted = try requireBooted(state)
        guard let oldName = booted.entryFileName, let parsed = BootCounter.parse(fileName: oldName) else {
            throw ArborError.invalidArgument("the booted deployment \(booted.name) has no boot entry")
        }
        let fallback = state.isFallback(booted: booted)
        var newCounter: BootCounter?
        switch verdict {
        case .good: newCounter = nil
        case .bad:
            guard let c = booted.bootCounter else {
                throw ArborError.invalidArgument("the booted entry \(oldName) is not counted (it booted well before); refusing to mark it bad: deploy or roll back instead")
            }
            // Never `+0`: ostree 2025.3 rewrites a `+0` entry as good.
            newCounter = BootCounter(left: 0, done: max(c.done, 1))
        }
        let newName = BootCounter.fileName(base: parsed.base, counter: newCounter)
        var result = BlessResult(deployment: booted, oldEntry: oldName, newEntry: newName, fallback: fallback,
                                 madeDefault: false, recordedFailures: [])
        if newName != oldName {
            let entries = try bootParent.openDirectoryPath("boot/loader.\(state.bootVersion)/entries")
            if try entries.statIfExists(newName) != nil {
                // Only a twin of the same entry may be replaced (systemd#33504's broken state).
                let twin = BootEntry(text: String(decoding: try entries.readRegularFile(newName, limit: 1 << 20) ?? [], as: UTF8.self))
                guard let mine = booted.entry, Self.ostreeArgument(twin) == Self.ostreeArgument(mine) else {
                    throw ArborError.invalidArgument("cannot rename \(oldName) to \(newName): another entry has that name")
                }
            }
            try entries.rename(oldName, to: entries, newName)
            FaultPoint.blessRename.check()
            try entries.fsync()
            log("Marked \(oldName) \(verdict.rawValue): \(newName)")
        } else {
            log("\(oldName) is already \(verdict == .good ? "good" : "bad")")
        }
        FaultPoint.blessed.check()

        var failed: [Deployment] = []
        if verdict == .bad { failed.append(booted) }
        if verdict == .good && fallback, let i = state.deployments.firstIndex(where: { $0.sameCheckout(booted) }) {
            failed += state.deployments[..<i]
        }
        // Each failure is remembered in its own stateroot, where upgrades of it look.
        for os in Set(failed.map(\.stateroot)).sorted() {
            try recordBootFailures(failed.filter { $0.stateroot == os }.map(\.checksum), stateroot: os)
        }
        if !failed.isEmpty {
            result.recordedFailures = failed.map(\.checksum)
            log("Recorded as failed to boot: " + failed.map { String($0.checksum.hex.prefix(12)) }.joined(separator: ", "))
        }
        if verdict == .good {
            // It booted well now: an earlier failure of the same commit no longer holds.
            try forgetBootFailure(booted.checksum, stateroot: booted.stateroot)
        }
        if verdict == .good && fallback {
            // Read again: the rename above is part of the state the new entries carry over.
            let now = try load()
            var list = now.deployments
            if let i = list.firstIndex(where: { $0.sameCheckout(booted) }) {
                let d = list.remove(at: i)
                list.insert(d, at: 0)
                _ = try reorderLocked(repo: try repository(), state: now, list: list, log: log)
                result.madeDefault = true
                log("The booted deployment \(booted.name) is the default again")
            }
        }
        return result
    }

    /// The booted deployment, or an error that says why there is none.
    func requireBooted(_ state: SysrootState) throws -> Deployment {
        guard let b = bootedDeployment(state) else {
            throw ArborError.notFound("no deployment of \(path) is booted (the running root is not one of its deployment directories)")
        }
        return b
    }

    /// An entry's `ostree=` argument.
    static func ostreeArgument(_ e: BootEntry) -> String? {
        KernelArgs.ostreeArguments(KernelArgs.split(e["options"] ?? "")).first
    }
}
