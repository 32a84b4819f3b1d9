// Options shared by every repository command.
import ArborCore
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `--repo`: which repository to use.
struct RepoOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The repository (default: $ARBOR_REPO, else the current directory).", valueName: "PATH"))
    var repo: String?

    /// The repository path as chosen by the flag, the environment or the working directory.
    var path: String {
        if let r = repo { return r }
        if let env = getenv("ARBOR_REPO") { return String(cString: env) }
        return "."
    }

    /// Opens the repository.
    func open() throws -> Repository {
        try Repository.open(path: path)
    }
}

/// `-q`/`-v` and terminal detection for progress output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print nothing but results and errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Explain what is being done.")
    var verbose = false

    /// Whether a progress line should be drawn (stdout and stderr are terminals, not quiet).
    var showProgress: Bool { !quiet && isatty(1) == 1 && isatty(2) == 1 }
}
