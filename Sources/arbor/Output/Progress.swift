// A progress line on the terminal, redrawn a few times a second; silent when not a terminal.
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Redraws one status line on stderr until stopped.
final class ProgressLine: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let render: () -> String
    private var drawn = false

    /// Starts redrawing `render()` every 200 ms when `enabled`.
    init?(enabled: Bool, render: @escaping () -> String) {
        guard enabled else { return nil }
        self.render = render
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        timer.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(200))
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
    }

    private func draw() {
        drawn = true
        fputs("\r\u{1b}[K" + render(), stderr)
    }

    /// Stops and erases the line.
    func stop() {
        timer.cancel()
        if drawn { fputs("\r\u{1b}[K", stderr) }
    }
}

/// Formats a byte count for people (1.5 MiB).
func humanBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    if u == 0 { return "\(n) B" }
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[u])"
}

/// A byte count as GLib's `g_format_size` prints it (and so `ostree`): "737 bytes", "2.8 kB",
/// "20.3 MB", SI units with a no-break space.
func glibSize(_ n: UInt64) -> String {
    if n < 1000 { return n == 1 ? "1 byte" : "\(n) bytes" }
    let units = ["kB", "MB", "GB", "TB", "PB", "EB"]
    var v = Double(n) / 1000
    var u = 0
    while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)\u{00A0}\(units[u])"
}
