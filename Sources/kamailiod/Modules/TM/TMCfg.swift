import ScriptEngine

/// tm's runtime parameters (cfg group `tm`, Kamailio's names and texts). A transaction
/// takes its timers from the snapshot of the message that created it; the timer thread
/// reads the newest values.
struct TMCfg: Sendable {
    let fr, frInv, wait, t1, t2, maxInvLifetime, maxNonInvLifetime: CfgIntKey
    let autoInv100, restartFrOnEachReply, unixTxTimeout, failureReplyMode: CfgIntKey
    let autoInv100Reason: CfgStringKey

    init(_ c: CfgStore) {
        let g = "tm"
        // Kamailio keeps its timers in internal ticks behind a change fixup, so cfg.get
        // refuses to show them ("not readable"); we answer the same way.
        func timer(_ name: String, _ value: Int, _ text: String) -> CfgIntKey {
            c.declareInt(g, name, value, readable: false, check: { v in
                v.intValue > 0 ? nil : "tm.\(name) must be a positive number of milliseconds"
            }, text)
        }
        fr = timer("fr_timer", 30000,
                   "timer which hits if no final reply for a request or ACK for a negative INVITE reply arrives (in milliseconds)")
        frInv = timer("fr_inv_timer", 120_000,
                      "timer which hits if no final reply for an INVITE arrives after a provisional message was received (in milliseconds)")
        wait = timer("wt_timer", 5000,
                     "time for which a transaction stays in memory to absorb delayed messages after it completed")
        t1 = timer("retr_timer1", 500, "initial retransmission period (in milliseconds)")
        t2 = timer("retr_timer2", 4000, "maximum retransmission period (in milliseconds)")
        maxInvLifetime = timer("max_inv_lifetime", 180_000,
                               "maximum time an invite transaction can live from the moment of creation")
        maxNonInvLifetime = timer("max_noninv_lifetime", 32000,
                                  "maximum time a non-invite transaction can live from the moment of creation")
        autoInv100 = c.declareInt(g, "auto_inv_100", 1, min: 0, max: 1, "automatically send 100 to an INVITE")
        autoInv100Reason = c.declareString(g, "auto_inv_100_reason", "trying -- your call is important to us",
                                           "reason text of the automatically send 100 to an INVITE")
        unixTxTimeout = c.declareInt(g, "unix_tx_timeout", 500, "Unix socket transmission timeout, in milliseconds")
        restartFrOnEachReply = c.declareInt(g, "restart_fr_on_each_reply", 1, min: 0, max: 1,
                                            "restart final response timer on each provisional reply")
        // kamailiod's addition (a modparam only in Kamailio)
        failureReplyMode = c.declareInt(g, "failure_reply_mode", 3, min: 0, max: 3,
                                        "branches whose replies count once failure_route added new ones (0: all, 1 and 3: the new ones, 2: the last)")
    }

    /// The timer values `ctx` sees.
    func timers(_ ctx: ScriptContext?, _ store: CfgStore) -> TMTimerValues {
        let s = store.snapshot(for: ctx)
        func ms(_ k: CfgIntKey) -> UInt64 { UInt64(max(1, s[k])) }
        var v = TMTimerValues()
        v.fr = ms(fr)
        v.frInv = ms(frInv)
        v.wait = ms(wait)
        v.t1 = ms(t1)
        v.t2 = ms(t2)
        v.maxInvLifetime = ms(maxInvLifetime)
        v.maxNoninvLifetime = ms(maxNonInvLifetime)
        v.restartFrOnEachReply = s[restartFrOnEachReply] != 0
        return v
    }
}
