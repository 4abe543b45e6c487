/// The one error the scheduling module throws: a cron expression that does not parse.
///
/// Equality is by ``code`` only, so tests and callers match on the kind of mistake; the
/// ``message`` names the field, the offending token and what is wrong with it.
package struct CronError: Error, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case fieldCount, invalidValue, outOfRange, invalidStep, reversedRange, unknownMacro
        }
        private let value: Value
        /// The expression does not have exactly five whitespace-separated fields.
        package static let fieldCount = Code(value: .fieldCount)
        /// A token is empty, not a number, or not a name this field accepts.
        package static let invalidValue = Code(value: .invalidValue)
        /// A number lies outside the field's range (e.g. minute 61).
        package static let outOfRange = Code(value: .outOfRange)
        /// A step is zero or not a positive number.
        package static let invalidStep = Code(value: .invalidStep)
        /// A range ends before it starts (e.g. `10-5`).
        package static let reversedRange = Code(value: .reversedRange)
        /// An `@` macro that is not one of the supported ones.
        package static let unknownMacro = Code(value: .unknownMacro)
        package var description: String {
            switch value {
            case .fieldCount: "wrong field count"
            case .invalidValue: "invalid value"
            case .outOfRange: "value out of range"
            case .invalidStep: "invalid step"
            case .reversedRange: "reversed range"
            case .unknownMacro: "unknown macro"
            }
        }
    }

    package var code: Code
    package var message: String
    package var location: String

    package init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        (self.code, self.message) = (code, message)
        self.location = "\(file):\(line)"
    }

    package static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    package func hash(into h: inout Hasher) { h.combine(code) }
    package var description: String { "\(code): \(message)" }
}
