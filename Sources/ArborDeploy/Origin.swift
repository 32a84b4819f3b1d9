// The `.origin` file beside each deployment (spec §9): a GKeyFile-style INI file. `[origin]
// refspec=` names what upgrades follow; `[libostree-transient] pinned=true` pins the deployment.
// Groups and keys keep their order so a file written by `ostree` round-trips unchanged.
import ArborCore

/// A deployment's origin: where it came from, and transient state such as pinning.
public struct Origin: Sendable, Equatable {
    /// One `[group]` and its `key=value` lines, in file order.
    public struct Group: Sendable, Equatable {
        /// The group name, without brackets.
        public var name: String
        /// Keys and values in file order (comment lines are kept with a nil key).
        public var entries: [Entry]
    }

    /// One line of a group: a key and value, or a comment/blank line kept verbatim.
    public struct Entry: Sendable, Equatable {
        /// The key, or nil for a comment or blank line.
        public var key: String?
        /// The value (the raw line for comments).
        public var value: String
    }

    /// The groups in file order.
    public var groups: [Group]

    /// The group holding the refspec.
    public static let originGroup = "origin"
    /// OSTree's group for state that is not carried to the next deployment (pinning).
    public static let transientGroup = "libostree-transient"

    /// An origin that follows `refspec`.
    public init(refspec: String) {
        groups = [Group(name: Self.originGroup, entries: [Entry(key: "refspec", value: refspec)])]
    }

    /// Parses an origin file. Lines before the first group are dropped, as GKeyFile rejects them.
    public init(text: String) {
        groups = []
        // Split on the byte, not the Character: "\r\n" is one Character, so CRLF lines would
        // otherwise never split (found by fuzzing).
        for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let line = String(Substring(raw))
            // Brackets, `#` and `=` are matched as bytes and spaces trimmed as scalars: as
            // Characters, a combining mark after "]", "=" or a tab would hide it (found by fuzzing).
            let trimmed = line.trimmingSpaces
            if let name = trimmed.groupName {
                groups.append(Group(name: name, entries: []))
                continue
            }
            guard !groups.isEmpty else { continue }
            if trimmed.isEmpty || trimmed.utf8.first == UInt8(ascii: "#") {
                if !trimmed.isEmpty { groups[groups.count - 1].entries.append(Entry(key: nil, value: line)) }
                continue
            }
            guard let (key, value) = line.splitKeyValue() else { continue }
            groups[groups.count - 1].entries.append(Entry(key: key, value: value))
        }
    }

    /// The file text, as GKeyFile writes it: groups separated by one blank line.
    public var text: String {
        groups.map { g in
            "[\(g.name)]\n" + g.entries.map { e in e.key.map { "\($0)=\(e.value)\n" } ?? "\(e.value)\n" }.joined()
        }.joined(separator: "\n")
    }

    /// The value of `key` in `group`, if present.
    public func value(_ group: String, _ key: String) -> String? {
        groups.first { $0.name == group }?.entries.last { $0.key == key }?.value
    }

    /// Sets `key` in `group`, adding the group or key at the end when missing.
    public mutating func set(_ group: String, _ key: String, _ value: String) {
        if let gi = groups.firstIndex(where: { $0.name == group }) {
            if let ei = groups[gi].entries.lastIndex(where: { $0.key == key }) {
                groups[gi].entries[ei].value = value
            } else {
                groups[gi].entries.append(Entry(key: key, value: value))
            }
        } else {
            groups.append(Group(name: group, entries: [Entry(key: key, value: value)]))
        }
    }

    /// Removes `key` from `group`, and the group when it becomes empty.
    public mutating func remove(_ group: String, _ key: String) {
        guard let gi = groups.firstIndex(where: { $0.name == group }) else { return }
        groups[gi].entries.removeAll { $0.key == key }
        if groups[gi].entries.allSatisfy({ $0.key == nil }) { groups.remove(at: gi) }
    }

    /// `[origin] refspec`: a ref, `REMOTE:REF`, or a commit checksum.
    public var refspec: String? {
        get { value(Self.originGroup, "refspec") }
        set {
            if let v = newValue { set(Self.originGroup, "refspec", v) } else { remove(Self.originGroup, "refspec") }
        }
    }

    /// Whether the deployment is pinned (kept when newer ones are deployed).
    public var isPinned: Bool {
        get { value(Self.transientGroup, "pinned") == "true" }
        set {
            if newValue { set(Self.transientGroup, "pinned", "true") } else { remove(Self.transientGroup, "pinned") }
        }
    }

    /// The origin a new deployment inherits: the same, without transient state (as OSTree).
    public var withoutTransientState: Origin {
        var o = self
        o.groups.removeAll { $0.name == Self.transientGroup }
        o.remove(Self.originGroup, "override-commit")
        o.remove(Self.originGroup, "unlocked")
        return o
    }
}
