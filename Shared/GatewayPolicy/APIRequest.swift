/// A Kubernetes API request as the policy sees it: what is done (the verb) to what (the
/// resource, with its subresource: `deployments/scale`), where (the namespace) and to which
/// object (the name).
public struct APIRequest: Sendable, Hashable {
    public var verb: String
    /// `pods`, `deployments/scale`; for a non-resource request its path (`/version`).
    public var resource: String
    public var namespace: String?
    public var name: String?

    public init(verb: String, resource: String, namespace: String? = nil, name: String? = nil) {
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.name = name
    }

    /// `delete pods/web-1 -n default`: how the audit and the recording name it.
    public var summary: String {
        var text = "\(verb) \(resource)"
        if let name { text += "/\(name)" }
        if let namespace { text += " -n \(namespace)" }
        return text
    }
}
