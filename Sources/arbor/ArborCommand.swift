// The `arbor` command: parses flags, calls ArborCore, renders results. Errors become one line
// `arbor: error: ...` on stderr with exit status 1 (2 for bad usage).
import ArborCore
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The root command.
struct Arbor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbor",
        abstract: "Atomic OS trees in an OSTree-compatible, content-addressed repository.",
        discussion: """
        A repository is chosen with --repo=PATH, else $ARBOR_REPO, else the current directory.
        A REV is a ref (os/stable), a remote ref (origin:os/stable), a full checksum, a unique
        checksum prefix, or any of these followed by ^ (its parent).
        """,
        // Each group of subcommands is listed in its own file.
        subcommands: repositoryCommands + integrityCommands + archiveCommands + remoteCommands + adminCommands
    )
}

@main
enum Main {
    static func main() {
        // Large buffers (file chunks, downloaded objects) go straight back to the system when
        // freed, instead of growing the heap: peak memory stays close to what is in use.
        tuneMemoryAllocator()
        do {
            var command = try Arbor.parseAsRoot()
            try command.run()
        } catch let e as ArborError {
            fail(e.description, code: e.exitCode)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch {
            let code = Arbor.exitCode(for: error)
            if code == .success {
                print(Arbor.fullMessage(for: error))
                exit(0)
            }
            if code == .validationFailure {
                let msg = Arbor.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
                fail(msg.hasPrefix("Error: ") ? String(msg.dropFirst(7)) : msg, code: 2, hint: true)
            }
            fail(Arbor.message(for: error), code: code.rawValue)
        }
    }

    static func fail(_ message: String, code: Int32, hint: Bool = false) -> Never {
        var err = StandardError()
        // One line, always: scripts read the first line of stderr.
        print("arbor: error: \(message)\(hint ? " (see 'arbor --help')" : "")", to: &err)
        exit(code)
    }
}

extension ArborError {
    /// Exit status: 1 for every runtime failure.
    var exitCode: Int32 { 1 }
}

/// Writes to stderr.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { fputs(string, stderr) }
}

/// Prints a diagnostic line to stderr.
func warn(_ message: String) {
    var err = StandardError()
    print("arbor: \(message)", to: &err)
}
