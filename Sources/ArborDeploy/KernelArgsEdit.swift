// `admin kargs`: edit the default deployment's kernel arguments in place (ostree's
// `admin kargs edit-in-place`). The entry file is rewritten under its own name, counter included,
// by one atomic rename: unlike ostree 2022.7, which writes the plain name beside a counted entry
// and leaves two entries for one deployment, the counter and the single entry survive.
#if canImport(Glibc)
import Glibc
#endif
import ArborCore

/// One edit of the kernel arguments.
public enum KernelArgEdit: Sendable, Equatable {
    /// Append `K=V` (or `K`) at the end.
    case append(String)
    /// Delete every argument with key `K`, or exactly `K=V`.
    case delete(String)
    /// Replace the value of the arguments with the key of `K=V` (which must be present).
    case replace(String)
}

extension KernelArgs {
    /// Refuses an argument that would corrupt a boot entry or be read by the kernel as more than
    /// itself: empty; a control character (a newline would start a new key in the entry file);
    /// an odd number of double quotes (the rest of the line, `ostree=` included, would become its
    /// value); a space outside double quotes, or the byte 0xA0 anywhere (the kernel's `isspace`
    /// is Latin-1: inside UTF-8 characters such as "à" it splits the argument); and `ostree=`,
    /// also behind a leading quote, which only the deployment tools write.
    public static func validate(_ arg: String) throws {
        let bytes = Array(arg.utf8)
        guard !bytes.isEmpty else { throw ArborError.invalidArgument("empty kernel argument") }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw ArborError.invalidArgument("kernel argument \(arg.debugDescription) contains a control character")
        }
        if bytes.contains(0xa0) {
            throw ArborError.invalidArgument("kernel argument \(arg.debugDescription) contains the byte 0xA0, which the kernel reads as a space")
        }
        var quoted = false
        for b in bytes {
            if b == UInt8(ascii: "\"") { quoted.toggle() }
            if b == UInt8(ascii: " ") && !quoted {
                throw ArborError.invalidArgument("kernel argument \(arg.debugDescription) has a space outside double quotes: give each argument on its own")
            }
        }
        if quoted { throw ArborError.invalidArgument("kernel argument \(arg.debugDescription) has an unbalanced double quote") }
        let unquoted = bytes.first == UInt8(ascii: "\"") ? String(decoding: bytes.dropFirst(), as: UTF8.self) : arg
        if key(unquoted) == "ostree" { throw ArborError.invalidArgument("ostree= is written by the deployment tools; refusing to set it") }
    }

    /// Applies `edits` in order.
    public static func applying(_ edits: [KernelArgEdit], to base: [String]) throws -> [String] {
        var args = base
        for e in edits {
            switch e {
            case let .append(a):
                try validate(a)
                args.append(a)
            case let .delete(a):
                try validate(a)
                let exact = a.utf8.contains(UInt8(ascii: "="))
                let before = args.count
                args.removeAll { exact ? $0 == a : key($0) == a }
                if args.count == before { throw ArborError.notFound("kernel argument \(a) is not set") }
            case let .replace(a):
                try validate(a)
                let count = args.filter { key($0) == key(a) }.count
                guard a.utf8.contains(UInt8(ascii: "=")), count > 0 else {
                    throw ArborError.notFound("kernel argument \(key(a)) is not set; use --append to add it")
                }
                guard count == 1 else {
                    throw ArborError.invalidArgument("kernel argument \(key(a)) is set \(count) times; use --delete=\(key(a)) and --append")
                }
                args = replace(args, with: [a])
            }
        }
        return args
    }
}

extension Sysroot {
    /// Edits the default deployment's kernel arguments in its current entry; returns the new arguments (without `ostree=`).
    public func editKernelArgs(_ edits: [KernelArgEdit], log: (String) -> Void = { _ in }) throws -> [String] {
        let lock = try self.lock(waiting: { log("Waiting for sysroot lock...") })
        defer { lock.release() }
        let state = try load()
        guard let d = state.deployments.first, var entry = d.entry, let name = d.entryFileName else {
            throw ArborError.notFound("no deployment to edit (see 'arbor admin deploy')")
        }
        let user = try KernelArgs.applying(edits, to: d.userKernelArgs)
        // ostree= stays where it stood among the others.
        var args: [String] = []
        var userIter = user.makeIterator()
        for a in d.kernelArgs {
            if KernelArgs.key(a) == "ostree" { args.append(a); continue }
            if let u = userIter.next() { args.append(u) }
        }
        while let u = userIter.next() { args.append(u) }
        if state.hasTwinEntries {
            // A twin beside the entry: rewrite the whole set (one entry each) instead.
            var list = state.deployments
            list[0].kernelArgs = args
            _ = try reorderLocked(repo: try repository(), state: state, list: list, log: log)
            log("Kernel arguments of \(d.stateroot) \(d.name): \(user.joined(separator: " "))")
            return user
        }
        entry["options"] = args.joined(separator: " ")
        let boot = try bootParent.openDirectory("boot")
        let entries = try boot.openDirectoryPath("loader.\(state.bootVersion)/entries")
        try writeFileAtomically(entries, name, Array(entry.text.utf8), staging: boot)
        log("Kernel arguments of \(d.stateroot) \(d.name) (\(name)): \(user.joined(separator: " "))")
        return user
    }
}
