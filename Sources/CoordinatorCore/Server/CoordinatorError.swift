/// A coordinator failure that is the operator's to fix; printed as one line.
package struct CoordinatorError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
