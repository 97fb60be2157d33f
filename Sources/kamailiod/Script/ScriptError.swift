/// A load-time (or, rarely, run-time) script error: where it happened and what was
/// expected. `description` is the `file:line:col: message` form printed at start-up.
public struct ScriptError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Where the problem is; nil only for errors about the script as a whole
    /// (for example a missing top-level file).
    public var location: ScriptSourceLocation?
    /// What went wrong, phrased as what was expected where possible.
    public var message: String

    /// Creates an error at `location`.
    public init(_ message: String, at location: ScriptSourceLocation?) {
        self.message = message
        self.location = location
    }

    /// `file:line:col: message`, or just the message when there is no location.
    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}
