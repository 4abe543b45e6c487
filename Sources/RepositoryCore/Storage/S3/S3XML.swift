import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A parsed S3 XML document: element names, text and children, namespaces dropped.
struct S3XML: Sendable {
    var name: String
    var text: String
    var children: [S3XML]

    /// Parses `bytes`, or returns nil when they are not well-formed XML.
    init?(_ bytes: [UInt8]) {
        let builder = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        guard parser.parse(), let root = builder.stack.first?.children.first else { return nil }
        self = root
    }

    private init(name: String) { (self.name, self.text, self.children) = (name, "", []) }

    /// The first child called `name`.
    subscript(_ name: String) -> S3XML? { children.first { $0.name == name } }

    /// Every child called `name`.
    func all(_ name: String) -> [S3XML] { children.filter { $0.name == name } }

    /// The text of the first child called `name`.
    func text(_ name: String) -> String? { self[name]?.text }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack = [S3XML(name: "")]

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName: String?, attributes: [String: String] = [:]
        ) {
            stack.append(S3XML(name: elementName))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack[stack.count - 1].text += string
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
            qualifiedName: String?
        ) {
            guard stack.count > 1 else { return }
            let done = stack.removeLast()
            stack[stack.count - 1].children.append(done)
        }
    }
}
