// `admin deploy` (spec §9): check a commit out as `ostree/deploy/STATEROOT/deploy/CHECKSUM.SERIAL`,
// build its /etc, write its `.origin`, install its kernel, and switch the boot entries to the new
// list atomically. Everything that can refuse (no kernel, no os-release name, no room in /boot)
// is checked before anything changes; a failure before the switch removes what was made.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// Options of a deployment.
public struct DeployOptions: Sendable {
    /// The stateroot (default: the default deployment's, else the only one present).
    public var stateroot: String?
    /// `--karg`: each replaces the inherited arguments with the same key, or is appended.
    public var kernelArgs: [String] = []
    /// `--karg-append`: appended as they are.
    public var appendKernelArgs: [String] = []
    /// `--karg-none`: do not inherit the previous default's arguments.
    public var noInheritedKernelArgs = false
    /// Keep every existing deployment.
    public var retain = false
    /// Put the new deployment after the current default instead of before it.
    public var notAsDefault = false
    /// The origin to write (default: `refspec=` the revision as given, or its checksum).
    public var origin: Origin?
    /// `--boot-tries`: boot attempts the new default gets before the boot loader falls back
    /// (0 turns counting off; nil: `[sysroot] boot-counting-tries` of the repository config).
    public var bootTries: Int?
    /// Creates default options.
    public init() {}
}

/// What a deployment did.
public struct DeployResult: Sendable {
    /// The new deployment.
    public var deployment: Deployment
    /// Its index in the new boot order.
    public var index: Int
    /// The /etc merge, when there was a deployment to merge from.
    public var etc: EtcMergeResult?
    /// Whether new boot entries were written (else only the bootlinks changed).
    public var bootSwap: Bool
    /// `boot.B.S` now current.
    public var bootVersion: Int, subbootVersion: Int
    /// New count minus old count of deployments.
    public var countChange: Int
    /// Deployments dropped from the boot order.
    public var removed: [Deployment]

    /// The line `ostree` prints after writing the boot entries.
    public var bootloaderSummary: String {
        "Bootloader updated; bootconfig swap: \(bootSwap ? "yes" : "no"); bootversion: boot.\(bootVersion).\(subbootVersion), deployment count change: \(countChange)"
    }
}

extension Sysroot {
    /// Deploys `rev` from the sysroot repository, under the sysroot lock.
    public func deploy(_ rev: String, options: DeployOptions, log: (String) -> Void = { _ in }) throws -> DeployResult {
        let lock = try self.lock(waiting: { log("Waiting for sysroot lock...") })
        defer { lock.release() }
        let repo = try repository()
        let commit = try repo.resolveRev(rev)
        var o = options
        if o.origin == nil {
            // A ref stays followable by upgrades; anything else pins the checksum (as `ostree`).
            let isRef = !rev.hasSuffix("^") && (try? repo.resolveRef(rev)).flatMap { $0 } != nil
            o.origin = Origin(refspec: isRef ? rev : commit.hex)
        }
        return try deployLocked(commit: commit, repo: repo, state: try load(), options: o, log: log)
    }

    /// Deploys a resolved commit; the caller holds the sysroot lock.
    func deployLocked(commit: Checksum, repo: Repository, state: SysrootState, options: DeployOptions,
                      log: (String) -> Void) throws -> DeployResult {
        // Refusals first: nothing below changes the sysroot until all of them passed.
        guard repo.hasObject(commit, .commit) else { throw ArborError.notFound("commit \(commit.hex) is not in the sysroot repository") }
        let stateroot = try chooseStateroot(options.stateroot, state)
        let booted = bootedDeployment(state)
        // As ostree: the booted deployment when it is of this stateroot, else its first; but not
        // one whose entry is bad while another is not (its /etc and arguments failed to boot).
        let merge = booted.flatMap { $0.stateroot == stateroot ? $0 : nil }
            ?? state.deployments.first { $0.stateroot == stateroot && $0.bootAssessment != .bad }
            ?? state.mergeDeployment(stateroot: stateroot)
        if (try? hasFailedToBoot(commit, stateroot: stateroot, state: state)) == true {
            log("warning: commit \(commit.hex) failed to boot on this node before")
        }
        if let m = merge, m.bootAssessment == .indeterminate, !options.notAsDefault {
            // Not judged yet: if the new default fails too, the fallback is itself still on trial.
            log("warning: \(m.stateroot) \(m.name) has not been marked good yet (\(m.entryFileName ?? "")); it stays counted as the fallback")
        }
        guard let kernel = try KernelLayout.find(repo: repo, commit: commit) else {
            throw ArborError.invalidArgument("commit \(commit.hex) has no kernel (usr/lib/modules/VERSION/vmlinuz); refusing to deploy it")
        }
        _ = try OSRelease.name(repo: repo, commit: commit)
        let c = try repo.loadCommit(commit)
        if try repo.lookupPath(commit: c, path: "etc") != nil, try repo.lookupPath(commit: c, path: "usr/etc") != nil {
            throw ArborError.invalidArgument("commit \(commit.hex) has both /etc and /usr/etc; refusing to deploy it")
        }
        let boot = try bootParent.openDirectory("boot")
        try kernel.checkSpace(boot: boot, stateroot: stateroot)
        let tries = try options.bootTries.map { try BootCounter.validateTries($0, source: "--boot-tries") }
            ?? bootCountingTries(repo)

        for a in options.kernelArgs + options.appendKernelArgs { try KernelArgs.validate(a) }
        var kargs = options.noInheritedKernelArgs ? [] : (merge?.kernelArgs ?? [])
        kargs = KernelArgs.replace(kargs, with: options.kernelArgs) + options.appendKernelArgs
        guard let deployDir = try deployDirectory(stateroot, create: true) else { throw ArborError.notFound("stateroot \(stateroot)") }
        let serial = try nextSerial(deployDir, commit)
        let name = "\(commit.hex).\(serial)"
        let bootDir = "/ostree/\(kernel.bootDirectoryName(stateroot: stateroot))/"
        var deployment = Deployment(stateroot: stateroot, checksum: commit, serial: serial, bootChecksum: kernel.bootChecksum,
                                    kernelArgs: kargs, linux: bootDir + kernel.kernelName,
                                    initrd: kernel.initramfs == nil ? nil : bootDir + kernel.initramfsName,
                                    devicetree: kernel.devicetree == nil ? nil : bootDir + kernel.devicetreeName,
                                    origin: options.origin, entry: nil)

        var etc: EtcMergeResult?
        var list: [Deployment] = []
        do {
            _ = try repo.checkout(commit: commit, into: deployDir, name: name, options: CheckoutOptions())
            FaultPoint.checkout.check()
            let root = try deployDir.openDirectory(name)
            etc = try prepareEtc(root, merge: merge)
            if let e = etc {
                log(e.summary)
                for conflict in e.conflicts { log("conflict: " + conflict) }
            }
            FaultPoint.etc.check()
            try writeOrigin(options.origin ?? Origin(refspec: commit.hex), stateroot: stateroot, name: name)
            FaultPoint.origin.check()
            try Immutable.set(root, true)
            try kernel.install(repo: repo, boot: boot, stateroot: stateroot)
            FaultPoint.kernel.check()

            // OSTree's rule: keep pinned, booted, the merge deployment and other stateroots' deployments.
            func kept(_ d: Deployment) -> Bool {
                options.retain || d.isPinned || d.stateroot != stateroot
                    || merge.map { d.sameCheckout($0) } == true || booted.map { d.sameCheckout($0) } == true
            }
            // And one that booted well, while any did: if the new default and every kept one
            // fail, the boot loader must still have something good to fall back to.
            let lastGood = state.deployments.contains { kept($0) && $0.bootAssessment == .good } ? nil
                : state.deployments.first { $0.stateroot == stateroot && $0.bootAssessment == .good }
            for d in state.deployments where kept(d) || lastGood.map({ d.sameCheckout($0) }) == true { list.append(d) }
            if options.notAsDefault, let m = merge, let i = list.firstIndex(where: { $0.sameCheckout(m) }) {
                list.insert(deployment, at: i + 1)
            } else if options.notAsDefault {
                list.append(deployment)
            } else {
                // Counted only with something to fall back to: a first deploy whose boot fails
                // would otherwise end with every entry bad.
                if tries > 0 && list.contains(where: { $0.bootAssessment != .bad }) {
                    deployment.bootCounter = BootCounter(left: tries, done: 0)
                }
                list.insert(deployment, at: 0)
            }
            let swap = try BootSwap.write(self, repo: repo, current: state, deployments: list)
            let index = list.firstIndex { $0.sameCheckout(deployment) } ?? 0
            deployment.entryFileName = BootEntry.fileName(index: index, count: list.count, stateroot: stateroot, counter: deployment.bootCounter)
            deployment.bootSerial = list[..<index].filter { $0.stateroot == stateroot && $0.bootChecksum == kernel.bootChecksum }.count
            let removed = state.deployments.filter { d in !list.contains { $0.sameCheckout(d) } }
            // Past the switch: a failed cleanup must not undo the deployment; `admin cleanup` retries it.
            do { _ = try cleanupLocked(repo: repo, log: { _ in }) } catch { log("warning: cleanup after the switch failed: \(error)") }
            FaultPoint.cleanup.check()
            return DeployResult(deployment: deployment, index: index, etc: etc, bootSwap: swap.bootSwap, bootVersion: swap.bootVersion,
                                subbootVersion: swap.subbootVersion, countChange: list.count - state.deployments.count, removed: removed)
        } catch {
            // Not switched: the boot entries still name the old set; drop what this attempt made.
            try? removeDeploymentDirectory(deployDir, name)
            throw error
        }
    }

    /// `[sysroot] boot-counting-tries` of the repository config (the key and range of ostree 2025.3); 0 when unset.
    func bootCountingTries(_ repo: Repository) throws -> Int {
        guard let text = repo.config.value("sysroot", "boot-counting-tries") else { return 0 }
        guard let n = Int(text) else {
            throw ArborError.invalidRepository("\(repo.path)/config: [sysroot] boot-counting-tries=\(text) is not a number (0 to \(BootCounter.maximumTries))")
        }
        return try BootCounter.validateTries(n, source: "\(repo.path)/config: [sysroot] boot-counting-tries")
    }

    /// The stateroot to deploy into.
    private func chooseStateroot(_ requested: String?, _ state: SysrootState) throws -> String {
        if let s = requested {
            guard Deployment.isValidStateroot(s) else { throw ArborError.invalidArgument("invalid stateroot name '\(s)'") }
            guard try dir.openDirectoryPathIfExists("ostree/deploy/\(s)") != nil else {
                throw ArborError.notFound("stateroot \(s) does not exist (see 'arbor admin os-init')")
            }
            return s
        }
        if let d = bootedDeployment(state) ?? state.deployments.first { return d.stateroot }
        let all = try stateroots()
        guard all.count == 1, let only = all.first else {
            throw ArborError.invalidArgument(all.isEmpty ? "no stateroot in \(path) (see 'arbor admin os-init')" : "several stateroots exist: choose one with --os")
        }
        return only
    }

    /// The next free serial for `commit` among the deployment directories on disk.
    private func nextSerial(_ deployDir: FileDescriptor, _ commit: Checksum) throws -> Int {
        var next = 0
        for e in try deployDir.entries() {
            if let (c, s) = Deployment.parseName(e), c == commit { next = max(next, s + 1) }
        }
        return next
    }

    /// Creates the deployment's `etc`: a copy of `usr/etc` (a tree with only `/etc` has it moved
    /// to `usr/etc` first), merged with the administrator's changes in the merge deployment.
    private func prepareEtc(_ root: FileDescriptor, merge: Deployment?) throws -> EtcMergeResult? {
        if try root.statIfExists("etc") != nil {
            let usr = try root.openDirectory("usr")
            try root.rename("etc", to: usr, "etc")
        }
        guard let usrEtcStat = try root.openDirectoryPathIfExists("usr")?.statIfExists("etc"), fileType(usrEtcStat) == S_IFDIR else {
            return nil
        }
        let usr = try root.openDirectory("usr")
        try FileCopy.copy(from: usr, "etc", to: root, "etc")
        guard let m = merge, let mdir = try deployDirectory(m.stateroot, create: false), mdir.exists(m.name) else { return nil }
        let mroot = try mdir.openDirectory(m.name)
        guard let oldDefaults = try mroot.openDirectoryPathIfExists("usr/etc"),
              let oldEtc = try mroot.openDirectoryPathIfExists("etc") else { return nil }
        return try EtcMerge.merge(oldDefaults: oldDefaults, oldEtc: oldEtc,
                                  newDefaults: try root.openDirectoryPath("usr/etc"), newEtc: try root.openDirectory("etc"))
    }

    /// Removes a deployment directory (clearing its immutable attribute) and its origin file.
    func removeDeploymentDirectory(_ deployDir: FileDescriptor, _ name: String) throws {
        if let st = try deployDir.statIfExists(name), fileType(st) == S_IFDIR {
            try Immutable.set(try deployDir.openDirectory(name), false)
            try removeTree(deployDir, name)
        }
        try deployDir.unlink(name + ".origin")
    }
}
