/// `$xavp(root=>field)`: per-message lists of named items, each item a list of fields.
/// Newest items and fields come first, as in Kamailio:
/// - `$xavp(a=>b) = v` starts a new item `a` holding `b = v`;
/// - `$xavp(a[0]=>c) = v` adds field `c` to the first item;
/// - `$xavp(a) = $null` removes only the first item; `$xavp(a[i]=>b) = $null` removes
///   the newest `b` of item i;
/// - reads take item `[i]` (default 0) and the `[j]`-th value of the field (default 0).
enum ScriptXAVP {
    /// One item: its fields, newest first.
    typealias Item = [(name: String, value: ScriptValue)]

    private struct Path {
        var root: String
        var rootIndex: Int?
        var field: String?
        var fieldIndex: Int?
    }

    private static func splitIndex(_ s: Substring) throws(ScriptFixupError) -> (String, Int?) {
        guard let open = s.firstIndex(of: "["), s.hasSuffix("]") else { return (String(s), nil) }
        guard let i = Int(s[s.index(after: open)..<s.index(before: s.endIndex)]) else {
            throw ScriptFixupError("expected an integer index in $xavp")
        }
        return (String(s[..<open]), i)
    }

    private static func parse(_ arg: String?) throws(ScriptFixupError) -> Path {
        guard let arg, !arg.isEmpty else { throw ScriptFixupError("$xavp needs a name") }
        let parts = arg.split(separator: "=>", maxSplits: 1, omittingEmptySubsequences: false)
        let (root, rootIndex) = try splitIndex(parts[0])
        guard !root.isEmpty else { throw ScriptFixupError("$xavp needs a name") }
        var path = Path(root: root, rootIndex: rootIndex)
        if parts.count == 2 {
            let (field, fieldIndex) = try splitIndex(parts[1])
            guard !field.isEmpty else { throw ScriptFixupError("$xavp needs a field name after '=>'") }
            path.field = field
            path.fieldIndex = fieldIndex
        }
        return path
    }

    /// Builds the accessor for one occurrence.
    static func accessor(_ spec: ScriptPVSpec) throws(ScriptFixupError) -> ScriptPVAccessor {
        let p = try parse(spec.argument)
        return ScriptPVAccessor(get: { ctx in get(ctx, p) }, set: { ctx, v, _ in set(ctx, p, v) })
    }

    private static func get(_ ctx: ScriptContext, _ p: Path) -> ScriptValue {
        guard let items = ctx.xavps[p.root] else { return .null }
        let i = p.rootIndex ?? 0
        guard i >= 0, i < items.count else { return .null }
        guard let field = p.field else { return .string("<<xavp:\(p.root)>>") }
        let values = items[i].filter { $0.name == field }
        let j = p.fieldIndex ?? 0
        return j >= 0 && j < values.count ? values[j].value : .null
    }

    private static func set(_ ctx: ScriptContext, _ p: Path, _ v: ScriptValue) {
        var items = ctx.xavps[p.root] ?? []
        defer { ctx.xavps[p.root] = items.isEmpty ? nil : items }
        guard let field = p.field else {
            // only removal is meaningful for a whole item
            if v.isNull, !items.isEmpty {
                let i = p.rootIndex ?? 0
                if i >= 0, i < items.count { items.remove(at: i) }
            }
            return
        }
        if v.isNull {
            let i = p.rootIndex ?? 0
            guard i >= 0, i < items.count, let k = items[i].firstIndex(where: { $0.name == field }) else { return }
            items[i].remove(at: k)
            return
        }
        if let i = p.rootIndex {
            guard i >= 0, i < items.count else { return }
            items[i].insert((field, v), at: 0)
        } else {
            items.insert([(field, v)], at: 0)
        }
    }
}
