/// A failure of an offline command that is the user's to fix; printed without a stack of causes.
package struct OfflineError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
