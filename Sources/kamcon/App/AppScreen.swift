/// The console's screens, in tab order.
enum AppScreen: Int, CaseIterable, Sendable {
    /// Uptime, memory, processes, rates.
    case overview
    /// `tm.list`.
    case transactions
    /// `dlg.list`.
    case dialogs
    /// `ul.dump`.
    case registrations
    /// `stats.get_statistics all`.
    case statistics
    /// The routing-script debugger (its issue fills the slot).
    case debugger
    /// Runtime parameters (`cfg.*`) and script reload.
    case params
    /// kamcmd-like prompt.
    case command

    /// Tab title.
    var title: String {
        switch self {
        case .overview: return "Overview"
        case .transactions: return "Transactions"
        case .dialogs: return "Dialogs"
        case .registrations: return "Registrations"
        case .statistics: return "Statistics"
        case .debugger: return "Debugger"
        case .params: return "Params"
        case .command: return "Command"
        }
    }

    /// Short tab title for narrow terminals.
    var shortTitle: String {
        switch self {
        case .transactions: return "Trans"
        case .registrations: return "Regs"
        case .statistics: return "Stats"
        case .debugger: return "Debug"
        case .command: return "Cmd"
        default: return title
        }
    }

    /// The function key that opens it (F1 is help, F10 quit).
    var functionKey: Int { rawValue + 2 }

    /// The letter that opens it from any screen but the prompt.
    var letter: Character {
        switch self {
        case .overview: return "o"
        case .transactions: return "t"
        case .dialogs: return "d"
        case .registrations: return "r"
        case .statistics: return "s"
        case .debugger: return "g"
        case .params: return "p"
        case .command: return ":"
        }
    }

    /// Which list the poller should fetch for this screen.
    var listKind: ModelListKind {
        switch self {
        case .transactions: return .transactions
        case .dialogs: return .dialogs
        case .registrations: return .registrations
        default: return .none
        }
    }

    /// Screens that show a selectable list.
    var isList: Bool { [.transactions, .dialogs, .registrations, .statistics].contains(self) }
}
