#if canImport(Glibc)
import Glibc
#endif
import Shared

/// kamcon: the operator console. The ncurses screens arrive with their issue; until then
/// it answers `-h` and `-V` and says plainly that it cannot attach yet.
let usage = """
Usage: kamcon [options]
  -s ADDRESS   control socket to attach to (unix:/path, fifo:/path, dgram:/path,
               udp:127.0.0.1:PORT); not implemented yet
  -V, -v       print the version and exit
  -h           this help
"""

let args = Array(CommandLine.arguments.dropFirst())
if args.contains("-h") || args.contains("--help") {
    print(usage)
    exit(0)
}
if args.contains("-V") || args.contains("-v") || args.contains("--version") {
    print("kamcon \(ProductVersion.version) (compatible with kamailio \(ProductVersion.compatibleKamailio))")
    exit(0)
}
var err = Array("kamcon \(ProductVersion.version): the console is not implemented yet\n\(usage)\n".utf8)
err.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
exit(64)
