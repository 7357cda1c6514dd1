import Foundation

/// What a Kubernetes API request is, read from its method, path and query the way the API
/// server's own `RequestInfoFactory` reads them: the verb (get, list, watch, create, update,
/// patch, delete, deletecollection), the API group and version, the namespace, the resource
/// and subresource, and the object's name. Paths outside `/api` and `/apis` (`/version`,
/// `/openapi/v2`, `/healthz`) are non-resource requests.
public struct KubeRequest: Sendable, Equatable {
    public var verb: String
    /// Empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    public var namespace: String?
    /// Plural resource (`pods`), empty for non-resource paths and discovery (`/api/v1`).
    public var resource: String
    public var subresource: String?
    public var name: String?
    /// The path for non-resource requests (`/version`).
    public var nonResourcePath: String?

    public init(
        verb: String, group: String = "", version: String = "", namespace: String? = nil, resource: String = "",
        subresource: String? = nil, name: String? = nil, nonResourcePath: String? = nil
    ) {
        self.verb = verb
        self.group = group
        self.version = version
        self.namespace = namespace
        self.resource = resource
        self.subresource = subresource
        self.name = name
        self.nonResourcePath = nonResourcePath
    }

    public var isResourceRequest: Bool { nonResourcePath == nil && !resource.isEmpty }
    /// `pods/exec`, `deployments/scale`, `pods`.
    public var resourcePath: String { subresource.map { "\(resource)/\($0)" } ?? resource }
    /// Whether the request only reads (get, list, watch; discovery and other non-resource GETs).
    public var isReadOnly: Bool { ["get", "list", "watch"].contains(verb) }
    /// An exec or attach into a pod (an interactive stream, not an API object).
    public var isExec: Bool { resource == "pods" && (subresource == "exec" || subresource == "attach") }
    public var isPortForward: Bool { resource == "pods" && subresource == "portforward" }

    /// How the audit and the recording name the request: `delete pods/web-1 -n default`.
    public var summary: String {
        if let nonResourcePath { return "\(verb) \(nonResourcePath.isEmpty ? "/" : nonResourcePath)" }
        var text = "\(verb) \(resourcePath)"
        if let name { text += "/\(name)" }
        if let namespace { text += " -n \(namespace)" }
        return text
    }

    /// Parses a request; `path` without the gateway's `/connections/<name>` prefix and
    /// without the query, `query` as name-value pairs (a name may repeat).
    public static func parse(method: String, path: String, query: [(String, String)]) -> KubeRequest {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let method = method.uppercased()
        let readVerb = method == "GET" || method == "HEAD"
        guard let prefix = parts.first, prefix == "api" || prefix == "apis" else {
            return KubeRequest(verb: readVerb ? "get" : method.lowercased(), nonResourcePath: "/" + parts.joined(separator: "/"))
        }
        var rest = parts.dropFirst()
        var request = KubeRequest(verb: "get")
        if prefix == "apis" {
            // `/apis` and `/apis/<group>` are discovery.
            guard rest.count >= 2 else { return KubeRequest(verb: readVerb ? "get" : method.lowercased(), nonResourcePath: "/" + parts.joined(separator: "/")) }
            request.group = rest.removeFirst()
        }
        guard let version = rest.first else {
            return KubeRequest(verb: readVerb ? "get" : method.lowercased(), nonResourcePath: "/" + parts.joined(separator: "/"))
        }
        request.version = version
        rest = rest.dropFirst()
        // /namespaces/{ns}/{resource}...: a namespaced resource; /namespaces/{ns} alone is the namespace object.
        if rest.first == "namespaces", rest.count >= 3 {
            request.namespace = rest.dropFirst().first
            rest = rest.dropFirst(2)
        }
        let segments = Array(rest)
        if segments.count >= 1 { request.resource = segments[0] }
        if segments.count >= 2 { request.name = segments[1] }
        if segments.count >= 3 { request.subresource = segments[2...].joined(separator: "/") }
        let watching = query.contains { $0.0 == "watch" && ($0.1 == "true" || $0.1 == "1") }
        switch method {
        case "GET", "HEAD":
            if watching { request.verb = "watch" } else { request.verb = request.name == nil ? "list" : "get" }
        case "POST": request.verb = "create"
        case "PUT": request.verb = "update"
        case "PATCH": request.verb = "patch"
        case "DELETE": request.verb = request.name == nil ? "deletecollection" : "delete"
        default: request.verb = method.lowercased()
        }
        if request.resource.isEmpty, request.verb == "list" { request.verb = "get" }
        return request
    }

    /// Splits a query string into name-value pairs, percent-decoded (`+` is a space).
    public static func queryItems(_ query: Substring) -> [(String, String)] {
        query.split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecoded(pair[0])
            let value = pair.count > 1 ? percentDecoded(pair[1]) : ""
            return (name, value)
        }
    }

    /// `+` is a space; a malformed escape is left as it came.
    static func percentDecoded(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
