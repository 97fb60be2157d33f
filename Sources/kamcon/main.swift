import Foundation
import Glibc
import Shared

// kamcon: the operator console of kamailiod (and of Kamailio 5.6.3). Parses the command
// line and hands over to the interactive loop or to one of the scripting modes.
let options: AppOptions
do {
    options = try AppOptions.parse(Array(CommandLine.arguments.dropFirst()), env: ProcessInfo.processInfo.environment)
} catch {
    AppOutput.error("kamcon: \(error.message)\n\n\(AppOptions.usage)")
    exit(64)
}

switch options.mode {
case .help:
    AppOutput.out(AppOptions.usage + "\n")
    exit(0)
case .version:
    AppOutput.out("kamcon \(ProductVersion.version) (compatible with kamailio \(ProductVersion.compatibleKamailio))\n")
    exit(0)
case .rpc(let method, let params):
    exit(AppBatch.rpc(options, method: method, params: params))
case .dump(let what):
    exit(AppBatch.dump(options, what: what))
case .console:
    exit(AppLoop.run(options: options))
}
