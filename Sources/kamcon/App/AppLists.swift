/// The rows each list screen shows for a snapshot and list state: one place that both the
/// views and the key handling (selection, actions) use, so they always agree.
enum AppLists {
    /// Visible transactions.
    static func transactions(_ snap: ServerSnapshot, _ state: ModelListState) -> [TransactionRow] {
        ModelList.arrange(snap.transactions, columns: TransactionRow.columns, state: state)
    }

    /// Visible dialogs.
    static func dialogs(_ snap: ServerSnapshot, _ state: ModelListState, now: Double) -> [DialogRow] {
        ModelList.arrange(snap.dialogs, columns: DialogRow.columns(now: now), state: state,
                          extraText: { "\($0.callerTag) \($0.calleeTag) \($0.id)" })
    }

    /// Visible registration lines.
    static func registrations(_ snap: ServerSnapshot, _ state: ModelListState) -> [RegistrationLine] {
        ModelRegistrations.lines(snap.registrations, state: state)
    }

    /// Visible statistics rows.
    static func statistics(_ snap: ServerSnapshot, _ state: ModelListState) -> [StatRow] {
        snap.statistics.rows(state: state)
    }

    /// Row identities of `screen`, for keeping the selection across polls.
    static func keys(_ screen: AppScreen, _ snap: ServerSnapshot, _ state: ModelListState, now: Double) -> [String] {
        switch screen {
        case .transactions: return transactions(snap, state).map(\.id)
        case .dialogs: return dialogs(snap, state, now: now).map(\.id)
        case .registrations: return registrations(snap, state).map(\.key)
        case .statistics: return statistics(snap, state).map { $0.isGroup ? "#" + $0.counter.group : $0.counter.key }
        default: return []
        }
    }

    /// Number of sortable columns of `screen`.
    static func columnCount(_ screen: AppScreen) -> Int {
        switch screen {
        case .transactions: return TransactionRow.columns.count
        case .dialogs: return DialogRow.columns(now: 0).count
        case .registrations: return ModelRegistrations.columnTitles.count
        case .statistics: return StatisticsBook.columnTitles.count
        default: return 0
        }
    }
}
