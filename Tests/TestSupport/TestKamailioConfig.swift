/// The start of a configuration for the real Kamailio 5.6.3 (and kamailiod, which reads
/// the same language): one UDP listener and the three control endpoints in `dir`.
public enum TestKamailioConfig {
    /// Debian's module folder.
    public static let modules = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

    /// `#!KAMAILIO`, globals, `loadmodule` for ctl, jsonrpcs and `modules`, and the control
    /// endpoints `dir/ctlName`, `dir/fifoName` and `dir/sockName` (or the datagram address
    /// `dgram`, such as `udp:127.0.0.1:PORT`).
    public static func header(dir: String, listen: String, children: Int = 1, modules extra: [String],
                              ctlName: String = "ctl", fifoName: String = "rpc.fifo", sockName: String = "rpc.sock",
                              dgram: String? = nil) -> String {
        let loads = (["ctl", "jsonrpcs"] + extra).map { "loadmodule \"\($0).so\"" }.joined(separator: "\n")
        return """
        #!KAMAILIO
        debug=1
        log_stderror=yes
        children=\(children)
        listen=\(listen)
        mpath="\(modules)"
        \(loads)
        modparam("ctl", "binrpc", "unix:\(dir)/\(ctlName)")
        modparam("jsonrpcs", "fifo_name", "\(dir)/\(fifoName)")
        modparam("jsonrpcs", "dgram_socket", "\(dgram ?? "\(dir)/\(sockName)")")

        """
    }
}
