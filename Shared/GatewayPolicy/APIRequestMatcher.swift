/// The API requests a Kubernetes rule applies to (`verbs`, `resources`, `namespaces`,
/// `names`): each list that is given must hold the request's value; an empty list holds any.
/// A resource names a subresource with a slash (`deployments/scale`); `pods` does not match
/// `pods/exec` (exec commands are checked as commands), and `*` matches any resource.
public struct APIRequestMatcher: Sendable, Hashable {
    public var verbs: [String]
    public var resources: [String]
    public var namespaces: [String]
    public var names: [String]

    public init(verbs: [String] = [], resources: [String] = [], namespaces: [String] = [], names: [String] = []) {
        self.verbs = verbs.map { $0.lowercased() }
        self.resources = resources.map { $0.lowercased() }
        self.namespaces = namespaces
        self.names = names
    }

    public func matches(_ request: APIRequest) -> Bool {
        (verbs.isEmpty || verbs.contains(request.verb.lowercased()))
            && (resources.isEmpty || resources.contains("*") || resources.contains(request.resource.lowercased()))
            && (namespaces.isEmpty || request.namespace.map(namespaces.contains) == true)
            && (names.isEmpty || request.name.map(names.contains) == true)
    }
}
