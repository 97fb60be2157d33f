import Shared

/// The non-interactive modes: `rpc`/`-x` print one reply, `dump` one screen's data.
enum AppBatch {
    /// Connects, or prints why not and returns nil.
    private static func client(_ o: AppOptions) -> (any RPCClient)? {
        do {
            return try RPCClients.connect(o.address, timeout: .seconds(5), datagramProtocol: o.datagramBinrpc ? .binrpc : .jsonRPC)
        } catch {
            AppOutput.error("kamcon: \(o.address): \(error.description)")
            return nil
        }
    }

    /// `rpc METHOD ARGS`: kamcmd-style text (or JSON); exit 1 on a fault, 2 on no server.
    static func rpc(_ o: AppOptions, method: String, params: [RPCValue]) -> Int32 {
        guard let c = client(o) else { return 2 }
        do {
            let values = try c.call(method, params)
            if o.json {
                AppOutput.out(RPCJSONWriter.string(values.count == 1 ? values[0] : .array(values), style: .pretty) + "\n")
            } else {
                AppOutput.out(RPCTextRender.render(values))
            }
            return 0
        } catch {
            if case .fault(let f) = error {
                if o.json {
                    AppOutput.out(RPCJSONWriter.string(.object(["code": .int(f.code), "message": .string(f.message)])) + "\n")
                } else {
                    AppOutput.out(RPCTextRender.render(f))
                }
                return 1
            }
            AppOutput.error("kamcon: \(method): \(error.description)")
            return 2
        }
    }

    /// `dump WHAT`: one snapshot as an aligned table, or normalised JSON.
    static func dump(_ o: AppOptions, what: String) -> Int32 {
        guard let c = client(o) else { return 2 }
        let method = ["transactions": "tm.list", "dialogs": "dlg.list", "registrations": "ul.dump",
                      "statistics": "stats.get_statistics"][what] ?? "tm.list"
        let values: [RPCValue]
        do {
            values = try c.call(method, what == "statistics" ? ["all"] : [])
        } catch {
            if case .fault(let f) = error {
                AppOutput.out(RPCTextRender.render(f))
                return 1
            }
            AppOutput.error("kamcon: \(method): \(error.description)")
            return 2
        }
        let now = ModelClock.now()
        let (header, rows, json) = AppDumpTables.table(what, values, now: now)
        if o.json {
            AppOutput.out(RPCJSONWriter.string(json, style: .pretty) + "\n")
        } else {
            AppOutput.out(AppDumpTables.align([header] + rows))
        }
        return 0
    }
}
