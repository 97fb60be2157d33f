/// A load-time (or, rarely, run-time) script error: where it happened and what was
/// expected. `description` is the `file:line:col: message` form printed at start-up.
public struct ScriptError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Where the problem is; nil only for errors about the script as a whole
    /// (for example a missing top-level file).
    public var location: ScriptSourceLocation?
    /// What went wrong, phrased as what was expected where possible.
    public var message: String
    /// Further errors found in the same pass (every missing module at once), each
    /// printed on its own line after this one.
    public var others: [ScriptError] = []

    /// Creates an error at `location`.
    public init(_ message: String, at location: ScriptSourceLocation?) {
        self.message = message
        self.location = location
    }

    /// Several errors reported together; nil when `errors` is empty.
    public init?(collecting errors: [ScriptError]) {
        guard let first = errors.first else { return nil }
        self = first
        others = Array(errors.dropFirst())
    }

    /// `file:line:col: message`, or just the message when there is no location; one
    /// line per error when several were collected.
    public var description: String {
        let head = location.map { "\($0): \(message)" } ?? message
        return ([head] + others.map(\.description)).joined(separator: "\n")
    }
}
