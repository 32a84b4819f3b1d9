// The boot-version switch (spec §9). `boot/loader -> loader.B` names the current entries;
// `ostree/boot.B -> boot.B.S` the current bootlinks. A new deployment list is written into
// `loader.(1-B)` and `boot.(1-B).S'`, synced, and made current by renaming a `loader.tmp`
// symlink over `boot/loader`: the one atomic switch. When only bootlinks change (same kernels,
// arguments and versions at every index) the subboot version alone flips, by renaming over
// `ostree/boot.B`. Refs `ostree/B/S/INDEX` in the repository keep each deployment's commit.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// Reads and writes the boot entries and bootlinks of a sysroot.
enum BootSwap {
    // MARK: Reading

    /// Reads the current boot version, subboot version and deployments.
    static func load(_ sysroot: Sysroot) throws -> SysrootState {
        let ostree = try sysroot.dir.openDirectory("ostree")
        let boot = try sysroot.bootParent.openDirectoryPathIfExists("boot")
        var bootVersion = 0
        if let b = boot, let st = try b.statIfExists("loader") {
            guard fileType(st) == S_IFLNK else { throw ArborError.invalidArgument("\(b.join("loader")) is not a symlink") }
            switch try b.readlink("loader") {
            case "loader.0": bootVersion = 0
            case "loader.1": bootVersion = 1
            case let t: throw ArborError.invalidArgument("\(b.join("loader")) points at unexpected '\(t)'")
            }
        }
        let subboot = try readSubbootVersion(ostree, bootVersion)
        var deployments: [Deployment] = []
        var twins = false
        if let b = boot, let entries = try b.openDirectoryPathIfExists("loader.\(bootVersion)/entries") {
            var parsed: [(entry: BootEntry, name: String, mtime: Int)] = []
            for name in try entries.entries().sorted() where name.hasSuffix(".conf") && !name.hasPrefix(".") {
                let text = String(decoding: try entries.readRegularFile(name, limit: 1 << 20) ?? [], as: UTF8.self)
                let st = try entries.statIfExists(name)
                parsed.append((BootEntry(text: text), name, st.map { Int($0.st_mtim.tv_sec) * 1_000_000_000 + Int($0.st_mtim.tv_nsec) } ?? 0))
            }
            // OSTree orders entries by their `version` key, highest first.
            parsed.sort { versionGreater($0.entry["version"] ?? "", $1.entry["version"] ?? "") }
            var mtimes: [Int] = []
            for (entry, name, mtime) in parsed {
                guard var d = try deployment(from: entry, file: entries.join(name), sysroot: sysroot, ostree: ostree) else { continue }
                d.entryFileName = name
                d.bootCounter = BootCounter.parse(fileName: name)?.counter
                // Two entries for one deployment (ostree 2022.7's `kargs edit-in-place` writes a
                // plain twin beside a counted entry): one deployment, with the counter (still on
                // trial) and the newer file's contents (the newer edit); the next write of the
                // entries leaves one file.
                if let i = deployments.firstIndex(where: { $0.sameCheckout(d) }) {
                    twins = true
                    var merged = mtime > mtimes[i] ? d : deployments[i]
                    let counted = deployments[i].bootCounter != nil ? deployments[i] : d
                    merged.bootCounter = counted.bootCounter
                    merged.entryFileName = counted.entryFileName
                    deployments[i] = merged
                    mtimes[i] = max(mtime, mtimes[i])
                    continue
                }
                deployments.append(d)
                mtimes.append(mtime)
            }
        }
        return SysrootState(bootVersion: bootVersion, subbootVersion: subboot, deployments: deployments, hasTwinEntries: twins)
    }

    /// The subboot version of boot version `b`: 0 when `ostree/boot.b` is missing or names `boot.b.0`.
    static func readSubbootVersion(_ ostree: FileDescriptor, _ b: Int) throws -> Int {
        guard try ostree.statIfExists("boot.\(b)") != nil else { return 0 }
        let target = try ostree.readlink("boot.\(b)")
        switch target {
        case "boot.\(b).0": return 0
        case "boot.\(b).1": return 1
        default: throw ArborError.invalidArgument("\(ostree.join("boot.\(b)")) points at unexpected '\(target)'")
        }
    }

    /// The deployment a boot entry names through its `ostree=` bootlink; nil for a non-OSTree entry.
    static func deployment(from entry: BootEntry, file: String, sysroot: Sysroot, ostree: FileDescriptor) throws -> Deployment? {
        let options = entry["options"] ?? ""
        let kargs = KernelArgs.split(options)
        let ostreeArgs = KernelArgs.ostreeArguments(kargs)
        // An entry the kernel would read otherwise than we do is an error, not a deployment to
        // drop (cleanup would then delete what it boots).
        if options.utf8.filter({ $0 == UInt8(ascii: "\"") }).count % 2 != 0 {
            throw ArborError.invalidArgument("\(file): unbalanced double quote in the kernel arguments")
        }
        if ostreeArgs.count > 1 { throw ArborError.invalidArgument("\(file): more than one ostree= kernel argument") }
        guard let ostreeArg = ostreeArgs.first else {
            if file.split(separator: "/").last?.hasPrefix("ostree-") == true {
                throw ArborError.invalidArgument("\(file): no ostree= kernel argument")
            }
            return nil
        }
        let link = String(ostreeArg.dropFirst("ostree=".count))
        let comps = link.split(separator: "/").map(String.init)
        guard link.hasPrefix("/"), comps.count == 5, comps[0] == "ostree", comps[1] == "boot.0" || comps[1] == "boot.1",
              Deployment.isValidStateroot(comps[2]), !comps[3].isEmpty, comps[3].allSatisfy({ $0.isHexDigit }),
              let bootSerial = Int(comps[4]) else {
            throw ArborError.invalidArgument("\(file): malformed ostree= argument '\(link)'")
        }
        let sub = try ostree.readlink(comps[1])
        guard sub == "\(comps[1]).0" || sub == "\(comps[1]).1" else {
            throw ArborError.invalidArgument("\(ostree.join(comps[1])) points at unexpected '\(sub)'")
        }
        let dir: FileDescriptor
        do { dir = try ostree.openDirectoryPath("\(sub)/\(comps[2])/\(comps[3])") } catch {
            throw ArborError.invalidArgument("\(file): bootlink \(link) is missing: \(error)")
        }
        let target = try dir.readlink(comps[4])
        let t = target.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        return try deploymentFromLongTarget(t, link: link, file: file, comps: comps, kargs: kargs, entry: entry,
                                            bootSerial: bootSerial, sysroot: sysroot)
    }

    /// Parses `../../../deploy/STATEROOT/deploy/CHECKSUM.SERIAL` and checks the directory exists.
    private static func deploymentFromLongTarget(_ t: [String], link: String, file: String, comps: [String], kargs: [String],
                                                 entry: BootEntry, bootSerial: Int, sysroot: Sysroot) throws -> Deployment {
        guard t.count == 7, t[0] == "..", t[1] == "..", t[2] == "..", t[3] == "deploy", t[4] == comps[2], t[5] == "deploy",
              let (checksum, serial) = Deployment.parseName(t[6]) else {
            throw ArborError.invalidArgument("\(file): bootlink \(link) points at unexpected '\(t.joined(separator: "/"))'")
        }
        let stateroot = comps[2]
        guard let deployDir = try sysroot.deployDirectory(stateroot, create: false),
              let st = try deployDir.statIfExists(t[6]), fileType(st) == S_IFDIR else {
            throw ArborError.invalidArgument("\(file): deployment \(stateroot)/\(t[6]) is missing")
        }
        var d = Deployment(stateroot: stateroot, checksum: checksum, serial: serial, bootChecksum: comps[3],
                           bootSerial: bootSerial, kernelArgs: kargs, linux: entry["linux"] ?? "",
                           initrd: entry["initrd"], devicetree: entry["devicetree"], origin: nil, entry: entry)
        d.origin = try sysroot.readOrigin(stateroot: stateroot, name: d.name)
        return d
    }

    /// `strverscmp`-like ordering for BLS `version` values: numerically when both are numbers.
    static func versionGreater(_ a: String, _ b: String) -> Bool {
        if let x = Int(a), let y = Int(b) { return x > y }
        return b.utf8.lexicographicallyPrecedes(a.utf8)
    }

    // MARK: Writing

    /// What a write did.
    struct Result {
        /// Whether a new boot version was written (else only the subboot version flipped).
        var bootSwap: Bool
        /// The boot version now current.
        var bootVersion: Int
        /// The subboot version now current.
        var subbootVersion: Int
    }

    /// Writes `deployments` as the new boot order and switches to it atomically, then cleans up.
    static func write(_ sysroot: Sysroot, repo: Repository, current: SysrootState, deployments input: [Deployment]) throws -> Result {
        var deployments = input
        // Bootlink serials count deployments sharing stateroot and boot checksum, in order.
        for i in deployments.indices {
            deployments[i].bootSerial = deployments[..<i].filter {
                $0.stateroot == deployments[i].stateroot && $0.bootChecksum == deployments[i].bootChecksum
            }.count
        }
        let versions = deployments.map { commitVersion(repo, $0.checksum) }
        var needsNewBootVersion = deployments.count != current.deployments.count || current.hasTwinEntries
        if !needsNewBootVersion {
            for (i, d) in deployments.enumerated() {
                let old = current.deployments[i]
                if d.bootChecksum != old.bootChecksum || d.userKernelArgs != old.userKernelArgs
                    || versions[i] != commitVersion(repo, old.checksum) || d.bootCounter != old.bootCounter {
                    needsNewBootVersion = true
                    break
                }
            }
        }
        let newBoot = needsNewBootVersion ? 1 - current.bootVersion : current.bootVersion
        let ostree = try sysroot.dir.openDirectory("ostree")
        let boot = try sysroot.bootParent.mkdirs("boot", mode: 0o755)
        let showStateroot = Set(deployments.map(\.stateroot)).count > 1

        if needsNewBootVersion {
            try removeTree(boot, "loader.\(newBoot)")
            let entries = try boot.mkdirs("loader.\(newBoot)/entries", mode: 0o755)
            for (i, d) in deployments.enumerated() {
                let e = entry(for: d, index: i, count: deployments.count, bootVersion: newBoot, version: versions[i],
                              showStateroot: showStateroot, repo: repo)
                try writeFileAtomically(entries, BootEntry.fileName(index: i, count: deployments.count, stateroot: d.stateroot,
                                                                    counter: d.bootCounter),
                                        Array(e.text.utf8), sync: false)
            }
            FaultPoint.entries.check()
        }

        // Bootlinks: a fresh boot.NB.S' beside the current one.
        let oldSub = newBoot == current.bootVersion ? current.subbootVersion : try readSubbootVersion(ostree, newBoot)
        let newSub = 1 - oldSub
        let subName = "boot.\(newBoot).\(newSub)"
        try removeTree(ostree, subName)
        try ostree.mkdir(subName, mode: 0o755)
        let subDir = try ostree.openDirectory(subName)
        for d in deployments {
            let parent = try subDir.mkdirs("\(d.stateroot)/\(d.bootChecksum)", mode: 0o755)
            try parent.symlink(d.bootlinkTarget, String(d.bootSerial))
        }
        FaultPoint.bootlinks.check()

        // Refs first, so that a prune running at any moment keeps every listed commit.
        for (i, d) in deployments.enumerated() { try repo.setRef("ostree/\(newBoot)/\(newSub)/\(i)", to: d.checksum) }
        FaultPoint.refs.check()

        try replaceSymlink(in: ostree, name: "boot.\(newBoot)", target: subName)
        FaultPoint.bootlinkSwap.check()

        if needsNewBootVersion {
            // GRUB looks for /boot/boot when /boot is its own partition.
            if try boot.statIfExists("boot") == nil { try boot.symlink(".", "boot") }
            try boot.unlink("loader.tmp")
            try boot.symlink("loader.\(newBoot)", "loader.tmp")
        }
        try sysroot.dir.syncfs()
        try boot.syncfs()
        FaultPoint.sync.check()
        if needsNewBootVersion {
            try boot.rename("loader.tmp", to: boot, "loader")
            // The switch happened; a failed directory fsync must not make callers undo it.
            try? boot.fsync()
        }
        FaultPoint.switched.check()
        return Result(bootSwap: needsNewBootVersion, bootVersion: newBoot, subbootVersion: newSub)
    }

    /// Replaces (or creates) symlink `name` atomically: a temporary symlink renamed over it.
    static func replaceSymlink(in dir: FileDescriptor, name: String, target: String) throws {
        let tmp = ".tmp-\(name)-\(randomSuffix())"
        try dir.symlink(target, tmp)
        do { try dir.rename(tmp, to: dir, name) } catch {
            try? dir.unlink(tmp)
            throw error
        }
        try dir.fsync()
    }

    /// The BLS entry of deployment `index`: the entry it had (unknown keys kept), with title,
    /// version, options, linux, initrd and devicetree set.
    static func entry(for d: Deployment, index: Int, count: Int, bootVersion: Int, version: String?,
                      showStateroot: Bool, repo: Repository) -> BootEntry {
        var e = d.entry ?? BootEntry()
        let osName = (try? OSRelease.name(repo: repo, commit: d.checksum)) ?? oldTitleName(d.entry) ?? d.stateroot
        e["title"] = BootEntry.title(osName: osName, version: version, stateroot: d.stateroot, index: index, showStateroot: showStateroot)
        e["version"] = String(count - index)
        let link = "/ostree/boot.\(bootVersion)/\(d.stateroot)/\(d.bootChecksum)/\(d.bootSerial)"
        e["options"] = KernelArgs.settingOstree(d.kernelArgs, link).joined(separator: " ")
        e["devicetree"] = d.devicetree
        e["linux"] = d.linux
        e["initrd"] = d.initrd
        return e
    }

    /// The name part of a title OSTree wrote, when the commit is no longer there to read os-release from.
    private static func oldTitleName(_ e: BootEntry?) -> String? {
        guard let t = e?["title"] else { return nil }
        let chars = Array(t), marker = Array(" (ostree")
        guard chars.count >= marker.count else { return nil }
        for start in stride(from: chars.count - marker.count, through: 0, by: -1) where Array(chars[start..<start + marker.count]) == marker {
            return String(chars[..<start])
        }
        return nil
    }

    /// A commit's `version` metadata, when the commit is present.
    static func commitVersion(_ repo: Repository, _ c: Checksum) -> String? {
        (try? repo.loadCommit(c))?.version
    }
}
