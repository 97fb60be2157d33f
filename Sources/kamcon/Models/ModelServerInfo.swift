import Shared

/// One process from `core.psx` (or the flat `core.ps`).
struct ProcessRow: Equatable, Sendable {
    /// Process index.
    var index: Int
    /// PID.
    var pid: Int
    /// What it does.
    var description: String

    /// Parses `core.psx` (`[{IDX, PID, DSC}]`) or `core.ps` (`[pid, "desc", ...]`).
    static func parse(psx values: [RPCValue]) -> [ProcessRow] {
        ModelRecords.items(values).compactMap { m in
            guard let pid = ModelRecords.int(m, "PID") else { return nil }
            return ProcessRow(index: ModelRecords.int(m, "IDX") ?? 0, pid: pid, description: ModelRecords.string(m, "DSC") ?? "")
        }
    }
}

/// Shared memory figures from `core.shmmem`.
struct MemoryInfo: Equatable, Sendable {
    /// Total bytes.
    var total: Int
    /// Bytes in use (including allocator overhead, `real_used`).
    var used: Int
    /// High-water mark.
    var maxUsed: Int
    /// Free bytes.
    var free: Int

    /// Parses `{total, free, used, real_used, max_used, fragments}`.
    static func parse(_ values: [RPCValue]) -> MemoryInfo? {
        guard let m = ModelRecords.items(values).first, let total = ModelRecords.int(m, "total") else { return nil }
        return MemoryInfo(total: total, used: ModelRecords.int(m, "real_used") ?? ModelRecords.int(m, "used") ?? 0,
                          maxUsed: ModelRecords.int(m, "max_used") ?? 0, free: ModelRecords.int(m, "free") ?? 0)
    }
}

/// What the overview shows about the server, besides rates.
struct ServerInfo: Equatable, Sendable {
    /// `core.version` text.
    var version: String = ""
    /// Seconds up, from `core.uptime`.
    var uptime: Int?
    /// `up_since` text.
    var upSince: String = ""
    /// Local time when `uptime` was read, so the clock ticks between polls.
    var uptimeReadAt: Double = 0
    /// Processes.
    var processes: [ProcessRow] = []
    /// Shared memory.
    var memory: MemoryInfo?
    /// `tm.stats` members.
    var tm: [String: Int] = [:]
    /// `dlg.stats_active` members.
    var dialogs: [String: Int] = [:]

    /// Parses `core.uptime` into the fields.
    mutating func setUptime(_ values: [RPCValue], now: Double) {
        guard let m = ModelRecords.items(values).first else { return }
        uptime = ModelRecords.int(m, "uptime")
        upSince = ModelRecords.string(m, "up_since") ?? ""
        uptimeReadAt = now
    }

    /// A flat struct of numbers (`tm.stats`, `dlg.stats_active`) as a dictionary.
    static func numbers(_ values: [RPCValue]) -> [String: Int] {
        guard let m = ModelRecords.items(values).first else { return [:] }
        var out: [String: Int] = [:]
        for member in m {
            if let n = member.name, let v = ModelRecords.int(member.value) { out[n] = v }
        }
        return out
    }
}
