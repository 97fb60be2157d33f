import ScriptEngine

/// registrar's runtime parameters (cfg group `registrar`, Kamailio's names and texts where
/// Kamailio has them). `save()` and `lookup()` read them from the message's snapshot.
struct RegistrarCfg: Sendable {
    let defaultExpires, minExpires, maxExpires, maxContacts, defaultQ, appendBranches: CfgIntKey
    let methodFiltering, minExpiresMode, usePath: CfgIntKey

    init(_ c: CfgStore) {
        let g = "registrar"
        defaultExpires = c.declareInt(g, "default_expires", 3600,
                                      "Contains number of second to expire if no expire hf or contact expire present")
        minExpires = c.declareInt(g, "min_expires", 60,
                                  "The minimum expires value of a Contact. Value 0 disables the checking. ")
        maxExpires = c.declareInt(g, "max_expires", 0,
                                  "The maximum expires value of a Contact. Value 0 disables the checking. ")
        maxContacts = c.declareInt(g, "max_contacts", 0,
                                   "The maximum number of Contacts for an AOR. Value 0 disables the checking. ")
        defaultQ = c.declareInt(g, "default_q", -1, min: -1, max: 1000,
                                "The parameter represents default q value for new contacts.")
        appendBranches = c.declareInt(g, "append_branches", 1,
                                      "If set to 1(default), lookup will put all contacts found in msg structure")
        // kamailiod's additions (modparams only in Kamailio)
        methodFiltering = c.declareInt(g, "method_filtering", 0, min: 0, max: 1,
                                       "1: lookup() skips contacts that do not accept the request's method")
        minExpiresMode = c.declareInt(g, "min_expires_mode", 0, min: 0, max: 1,
                                      "0: a shorter expires is raised to min_expires; 1: refused with 423")
        usePath = c.declareInt(g, "use_path", 0, min: 0, max: 1,
                               "1: store the Path of a REGISTER and return it in the 200")
    }

    /// The settings `ctx` sees (one snapshot, so one message never mixes two commits).
    func settings(_ ctx: ScriptContext?, _ store: CfgStore) -> RegistrarModule.Settings {
        let s = store.snapshot(for: ctx)
        func i(_ k: CfgIntKey) -> Int { s[k] }
        return RegistrarModule.Settings(
            defaultExpires: i(defaultExpires), minExpires: i(minExpires), maxExpires: i(maxExpires),
            maxContacts: i(maxContacts), methodFiltering: i(methodFiltering) != 0,
            appendBranches: i(appendBranches) != 0, defaultQ: i(defaultQ), minExpiresMode: i(minExpiresMode),
            usePath: i(usePath) != 0)
    }
}
