/// Version facts shared by the daemon and the console, so both print the same thing.
public enum ProductVersion {
    /// Our own release number.
    public static let version = "0.1.0"
    /// The Kamailio release whose script language, RPC surface and tables we follow.
    public static let compatibleKamailio = "5.6.3"
    /// The server name used in `Server:`/`User-Agent:` headers and `core.version`.
    public static let serverName = "kamailiod"
    /// `kamailiod 0.1.0 (compatible with kamailio 5.6.3)`
    public static var banner: String { "\(serverName) \(version) (compatible with kamailio \(compatibleKamailio))" }
}
