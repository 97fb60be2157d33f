import Shared
@testable import kamcon

/// Replies captured from Kamailio 5.6.3 (`../shared/spec/rpc-examples/`), trimmed to what
/// the parsers read, kept inline so the test target needs no resources.
enum KamconFixtures {
    /// Parses a JSON text (the `result` member of a capture).
    static func json(_ text: String) -> RPCValue {
        (try? RPCJSONParser.parse(text)) ?? .null
    }

    /// `tm.list` over JSON-RPC: two transactions in one hash bucket, merged into one object
    /// with duplicate keys (spec §9 item 1), plus one on its own.
    static let tmListJSON = json(#"""
    [{"cell": "0x7f01a1c7baa0", "tindex": 34796, "tlabel": 2123773766, "method": "INVITE",
      "from": "From: <sip:rpc@127.0.0.1>;tag=rpcinv1\r\n", "to": "To: <sip:dave@127.0.0.1>\r\n",
      "callid": "Call-ID: rpccancel1@127.0.0.1\r\n", "cseq": "CSeq: 10", "uas_request": "yes", "tflags": 65,
      "outgoings": 1, "ref_count": 1, "lifetime": 50835321,
      "cell": "0x7f01a1c77200", "tindex": 34796, "tlabel": 2123773765, "method": "INVITE",
      "from": "From: <sip:rpc@127.0.0.1>;tag=rpcinv1\r\n", "to": "To: <sip:dave@127.0.0.1>\r\n",
      "callid": "Call-ID: rpccancel1@127.0.0.1\r\n", "cseq": "CSeq: 10", "uas_request": "no", "tflags": 67,
      "outgoings": 2, "ref_count": 1, "lifetime": 50835321},
     {"cell": "0x7f01a1c728c8", "tindex": 36027, "tlabel": 393412330, "method": "INVITE",
      "from": "From: sipp <sip:sipp@127.0.0.1:25088>;tag=26572SIPpTag001\r\n", "to": "To: dave <sip:dave@127.0.0.1:5071>\r\n",
      "callid": "Call-ID: 1-26572@127.0.0.1\r\n", "cseq": "CSeq: 1", "uas_request": "yes", "tflags": 65,
      "outgoings": 1, "ref_count": 2, "lifetime": 50835400}]
    """#)

    /// `dlg.list` over JSON-RPC (one confirmed dialog with both profile kinds).
    static let dlgListJSON = json(#"""
    [{"h_entry": 2376, "h_id": 11510, "ref": 2, "call-id": "1-1538@127.0.0.1",
      "from_uri": "sip:sipp@127.0.0.1:25087", "to_uri": "sip:alice@127.0.0.1:5071", "state": 4,
      "start_ts": 1795787776, "init_ts": 1795787776, "end_ts": 0, "duration": 550, "timeout": 1795831004,
      "lifetime": 43200, "dflags": 1667, "sflags": 0, "iflags": 0,
      "caller": {"tag": "1538SIPpTag001", "contact": "sip:sipp@127.0.0.1:25087", "cseq": "1", "route_set": "",
                 "socket": "udp:127.0.0.1:5071"},
      "callee": {"tag": "1533SIPpTag011", "contact": "sip:127.0.0.1:25080;transport=UDP", "cseq": "0",
                 "route_set": "", "socket": "udp:127.0.0.1:5071"},
      "profiles": [{"caller": "sipp"}, "inbound"], "variables": [{"src": "127.0.0.1"}]},
     {"h_entry": 10, "h_id": 20, "call-id": "early@127.0.0.1", "from_uri": "sip:bob@x", "to_uri": "sip:carol@x",
      "state": 2, "start_ts": 0, "duration": 0, "timeout": 0, "caller": {"tag": "a"}, "callee": {"tag": ""},
      "profiles": [], "variables": []}]
    """#)

    /// `ul.dump` over JSON-RPC: one-member wrappers in arrays (spec §6.3).
    static let ulDumpJSON = json(#"""
    {"Domains": [{"Domain": {"Domain": "location", "Size": 1024, "AoRs": [
      {"Info": {"AoR": "bob", "HashID": 7222211, "Contacts": [
        {"Contact": {"Address": "sip:bob@127.0.0.1:25082", "Expires": 3341, "Q": -1, "Call-ID": "1@x",
                     "User-Agent": "sipsak 0.9.8.1", "Received": "[not set]", "Path": "[not set]",
                     "Socket": "udp:127.0.0.1:5071"}},
        {"Contact": {"Address": "sip:bob@127.0.0.1:25083", "Expires": 1541, "Q": 0.5, "Call-ID": "2@x",
                     "User-Agent": "Grüße 日本語", "Received": "sip:10.0.0.1:5060", "Path": "<sip:edge>",
                     "Socket": "udp:127.0.0.1:5071"}}]}},
      {"Info": {"AoR": "alice", "HashID": 1834153949, "Contacts": [
        {"Contact": {"Address": "sip:alice@127.0.0.1:25080", "Expires": 30, "Q": -1, "User-Agent": "sipp",
                     "Received": "[not set]", "Path": "[not set]", "Socket": "udp:127.0.0.1:5071"}}]}}],
      "Stats": {"Records": 2, "Max-Slots": 1}}}]}
    """#)

    /// `stats.get_statistics all` as binrpc delivers it: one top-level string per counter.
    static let statsBinrpc: [RPCValue] = [
        "core:rcv_requests = 38", "core:rcv_replies_2xx = 20", "core:rcv_replies_4xx = 1", "sl:200_replies = 7",
        "sl:404_replies = 2", "usrloc:location-contacts = 4", "dialog:active_dialogs = 1", "shmem:total_size = 67108864",
    ]

    /// The same `tm.list` over binrpc: one struct per bucket, repeated names.
    static var tmListBinrpc: [RPCValue] { tmListJSON.binrpcShaped.members?.map(\.value) ?? [] }
}
