#if canImport(Glibc)
import Glibc
#endif
import Shared
import SIPTransport
import ScriptEngine
import BuiltinModules

/// Start-up and shutdown of the daemon: command line, script, transports, signals.
enum Daemon {
    /// Exit statuses (see man/kamailiod.8).
    enum Status {
        static let ok: Int32 = 0
        static let startFailed: Int32 = 1
        static let usage: Int32 = 64
        static let badConfig: Int32 = 255
    }

    static func main(_ argv: [String]) -> Int32 {
        let opts: DaemonOptions
        do {
            opts = try DaemonCommandLine.parse(Array(argv.dropFirst()))
        } catch {
            printErr("kamailiod: \(error)")
            return Status.usage
        }
        if opts.showHelp { print(DaemonCommandLine.usage); return Status.ok }
        if opts.showVersion { print("version: \(ProductVersion.banner)"); return Status.ok }
        if let url = opts.initDB { return DatabaseInit.run(url: url) }

        // Before any thread exists (modules start theirs while the script loads), so every
        // thread inherits the mask and only `waitForStopSignal` takes SIGTERM: a signal that
        // reached a module thread would kill the process without the shutdown flushes.
        DaemonProcess.blockStopSignals()
        DaemonProcess.tuneMalloc()
        var detachFD: Int32 = -1
        if opts.foregroundLevel == 0 && !opts.checkOnly && !opts.printConfig {
            do { detachFD = try DaemonProcess.beginDetach() } catch {
                printErr("kamailiod: \(error)")
                return Status.startFailed
            }
        }

        // Until the script says otherwise, log to stderr at the level of the command line.
        let logLevels = ModuleLogLevels()
        let logger = DaemonLogger(level: opts.debugLevel ?? 2, toStderr: true, colors: opts.logColors,
                                  moduleLevels: logLevels)
        let runtime = CoreRuntime(
            log: { level, module, text in logger.log(LogLevel(rawValue: level.rawValue) ?? .error, module, text) },
            logEnabled: { logger.enabled(LogLevel(rawValue: $0.rawValue) ?? .error) })
        let modules = BuiltinModuleSet(runtime: runtime, logLevels: logLevels)

        if opts.printConfig {
            do {
                print(try ScriptFrontEnd.preprocessedText(path: opts.configFile, text: DefaultConfig.text,
                                                          name: DefaultConfig.fileName,
                                                          defines: opts.configFile == nil ? DefaultConfig.defines(opts) : opts.defines),
                      terminator: "")
                return Status.ok
            } catch {
                printErr("\(error)")
                return Status.badConfig
            }
        }

        let script: LoadedScript
        do {
            if let file = opts.configFile {
                script = try ScriptLoader.load(path: file, defines: opts.defines, modules: modules.all)
            } else {
                script = try ScriptLoader.load(text: DefaultConfig.text, name: DefaultConfig.fileName,
                                               defines: DefaultConfig.defines(opts), modules: modules.all)
            }
        } catch {
            printErr("\(error)")
            return Status.badConfig
        }
        let core = script.core
        let listens: [ListenSpec]
        do {
            listens = try listenSpecs(opts: opts, core: core)
        } catch {
            printErr("kamailiod: \(error)")
            return Status.badConfig
        }
        do {
            try modules.core.checkSendSockets(listens)
        } catch {
            printErr("\(error)")
            return Status.badConfig
        }
        if opts.checkOnly {
            printErr(" config file ok, exiting...")
            return Status.ok
        }

        logger.setLevel((opts.debugLevel ?? core.debug) + opts.debugIncrements)
        // cfg.* changes core.debug at run time; the logger is where the level lives.
        modules.cfgRPC.bindCoreDebug(level: logger.currentLevel) { logger.setLevel($0) }
        let toStderr = opts.logToStderr || core.logStderror
        // While the parent waits, start-up errors go to the terminal that started us.
        logger.setStderr(toStderr || detachFD >= 0)
        if !toStderr { openlog(core.logName ?? "kamailiod", LOG_PID | LOG_CONS, LOG_DAEMON) }

        do {
            if let dir = opts.workingDirectory { try DaemonProcess.changeDirectory(dir) }
            if let dir = opts.runtimeDirectory { try DaemonProcess.ensureDirectory(dir) }
        } catch {
            logger.log(.critical, "core", "\(error)")
            return Status.startFailed
        }

        var options = TransportOptions()
        options.children = max(1, opts.children ?? core.children)
        options.tcpChildren = opts.tcpChildren ?? core.tcpChildren
        options.maxReceiveBuffer = opts.maxBuffer ?? core.maxBuffer
        options.tcpConnectionLifetime = Double(core.tcpConnectionLifetime)
        options.tcpMaxConnections = core.tcpMaxConnections
        options.tcpConnectTimeout = Double(core.tcpConnectTimeout)
        options.tcpSendTimeout = Double(core.tcpSendTimeout)
        options.log = { level, text in
            let l: LogLevel = switch level {
            case .error: .error
            case .warning: .warning
            case .info: .info
            case .debug: .debug
            }
            logger.log(l, "core", text)
        }
        if script.module(named: "tls") != nil,
           let tls = modules.tls.transportFactory(connectTimeout: options.tcpConnectTimeout, log: options.log) {
            options.streamFactories[.tls] = tls
        }
        let transport = TransportManager(listens: listens, options: options)
        let handler = SIPMessageHandler(script: script, modules: modules, workers: transport.workerCount)
        DaemonScriptReload.bind(modules, handler: handler, logger: logger, file: opts.configFile, defines: opts.defines)
        let control = DaemonControl()
        do {
            try transport.start(handler: control.countingHandler(handler))
        } catch {
            logger.log(.critical, "core", "\(error)")
            return Status.startFailed
        }
        runtime.attach(transport: transport, aliases: core.aliases.filter { !$0.quoted }.map(aliasText),
                       serverHeader: core.serverHeader ?? "Server: kamailiod (\(ProductVersion.version))",
                       userAgentHeader: core.userAgentHeader ?? "User-Agent: kamailiod (\(ProductVersion.version))")
        do {
            try control.start(script: script, modules: modules, transport: transport, arguments: argv,
                              runDir: DaemonControl.runtimeDirectory(option: opts.runtimeDirectory, core: core,
                                                                     embeddedConfig: opts.configFile == nil))
        } catch {
            logger.log(.critical, "core", "control interface: \(error)")
            transport.stop()
            return Status.startFailed
        }
        if let pidFile = opts.pidFile {
            do { try DaemonProcess.writePidFile(pidFile) } catch { logger.log(.error, "core", "\(error)") }
        }
        if detachFD >= 0 {
            DaemonProcess.finishDetach(detachFD, keepStderr: toStderr)
            logger.setStderr(toStderr)
        }
        let where_ = transport.listeners.map { "\($0.proto.name):\($0.address)" }.joined(separator: " ")
        logger.log(.notice, "core", "\(ProductVersion.banner) started (pid \(getpid())), listening on \(where_)")
        if !opts.ignored.isEmpty {
            logger.log(.info, "core", "ignored compatibility options: \(opts.ignored.joined(separator: " "))")
        }

        let loaded = modules.all
        var trim = DaemonIdleTrim { for m in loaded { m.releaseIdleMemory() } }
        let sig = DaemonProcess.waitForStopSignal { trim.tick(messages: control.messagesReceived) }
        logger.log(.notice, "core", "signal \(sig) received, shutting down")
        control.stop()
        transport.stop()
        if let pidFile = opts.pidFile { unlink(pidFile) }
        logger.log(.notice, "core", "stopped")
        return Status.ok
    }

    /// `-l` wins over `listen=`; with neither, loopback on `port` (Kamailio would bind every
    /// interface; a server that answers the world by accident is not a default we want).
    static func listenSpecs(opts: DaemonOptions, core: ScriptCoreConfig) throws -> [ListenSpec] {
        let tcp = !(opts.disableTCP || core.disableTCP)
        var specs: [ListenSpec]
        if !opts.listen.isEmpty {
            specs = try opts.listen.flatMap { try ListenAddress.parse($0, tcpEnabled: tcp) }
        } else if !core.listens.isEmpty {
            specs = core.listens
        } else {
            specs = try ListenAddress.parse("127.0.0.1:\(core.port)", tcpEnabled: tcp)
        }
        if !tcp { specs = specs.filter { $0.proto != .tcp } }
        guard !specs.isEmpty else { throw CommandLineError(description: "no listen address left (TCP disabled and no UDP listen)") }
        return specs
    }

    static func aliasText(_ a: ScriptAlias) -> String {
        a.port.map { "\(a.host):\($0)" } ?? a.host
    }

    static func printErr(_ s: String) {
        var line = Array((s + "\n").utf8)
        line.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
