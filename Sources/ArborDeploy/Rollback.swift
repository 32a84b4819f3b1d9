// `admin rollback`, `admin undeploy` and `admin pin`: a new boot order (or origin) for the
// deployments already there, written through the same atomic switch as a deploy (spec §9).
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// What a change of the boot order did.
public struct ReorderResult: Sendable {
    /// The deployments in their new order.
    public var deployments: [Deployment]
    /// Whether new boot entries were written (else only the bootlinks changed).
    public var bootSwap: Bool
    /// `boot.B.S` now current.
    public var bootVersion: Int, subbootVersion: Int
}

extension Sysroot {
    /// Makes the rollback deployment (index 1) the default again, and the default the rollback.
    public func rollback(log: (String) -> Void = { _ in }) throws -> ReorderResult {
        try reorder(log: log) { list in
            guard list.count >= 2 else { throw ArborError.invalidArgument("there is no rollback deployment (only \(list.count) deployment\(list.count == 1 ? "" : "s"))") }
            var l = list
            l.swapAt(0, 1)
            return l
        }
    }

    /// Removes deployment `index` from the boot order (and its directory); the booted one is refused.
    public func undeploy(index: Int, log: (String) -> Void = { _ in }) throws -> ReorderResult {
        try reorder(log: log) { list in
            guard list.indices.contains(index) else { throw ArborError.invalidArgument("no deployment at index \(index) (there are \(list.count))") }
            if let b = bootedDeployment(try load()), b.sameCheckout(list[index]) {
                throw ArborError.invalidArgument("deployment \(index) (\(list[index].name)) is the booted deployment; refusing to undeploy it")
            }
            var l = list
            l.remove(at: index)
            return l
        }
    }

    /// Pins or unpins deployment `index` (`[libostree-transient] pinned=true` in its origin).
    public func pin(index: Int, _ pinned: Bool, log: (String) -> Void = { _ in }) throws -> Deployment {
        let lock = try self.lock(waiting: { log("Waiting for sysroot lock...") })
        defer { lock.release() }
        let state = try load()
        guard state.deployments.indices.contains(index) else {
            throw ArborError.invalidArgument("no deployment at index \(index) (there are \(state.deployments.count))")
        }
        var d = state.deployments[index]
        var origin = d.origin ?? Origin(refspec: d.checksum.hex)
        origin.isPinned = pinned
        try writeOrigin(origin, stateroot: d.stateroot, name: d.name)
        d.origin = origin
        return d
    }

    private func reorder(log: (String) -> Void, _ change: ([Deployment]) throws -> [Deployment]) throws -> ReorderResult {
        let lock = try self.lock(waiting: { log("Waiting for sysroot lock...") })
        defer { lock.release() }
        let state = try load()
        return try reorderLocked(repo: try repository(), state: state, list: try change(state.deployments), log: log)
    }

    /// Writes `list` as the new boot order (counters carried) and cleans up; the caller holds the lock.
    func reorderLocked(repo: Repository, state: SysrootState, list: [Deployment], log: (String) -> Void) throws -> ReorderResult {
        let swap = try BootSwap.write(self, repo: repo, current: state, deployments: list)
        do { _ = try cleanupLocked(repo: repo, log: log) } catch { log("warning: cleanup after the switch failed: \(error)") }
        FaultPoint.cleanup.check()
        return ReorderResult(deployments: try load().deployments, bootSwap: swap.bootSwap,
                             bootVersion: swap.bootVersion, subbootVersion: swap.subbootVersion)
    }
}
