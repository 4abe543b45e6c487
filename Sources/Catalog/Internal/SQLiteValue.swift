/// One value bound to a statement parameter or read from a result column.
///
/// The five cases are SQLite's five storage classes.
enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// `.text(value)`, or `.null` when `value` is nil.
    static func optional(_ value: String?) -> SQLiteValue {
        value.map { .text($0) } ?? .null
    }

    /// `.integer(value)`, or `.null` when `value` is nil.
    static func optional(_ value: Int64?) -> SQLiteValue {
        value.map { .integer($0) } ?? .null
    }
}
