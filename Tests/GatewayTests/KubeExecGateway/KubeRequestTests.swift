import KubeExecGatewayCore
import Testing

/// Requests read as the API server's RequestInfoFactory reads them.
@Suite("Kubernetes request info")
struct KubeRequestTests {
    static func parse(_ method: String, _ target: String) -> KubeRequest {
        let parts = target.split(separator: "?", maxSplits: 1)
        return KubeRequest.parse(method: method, path: String(parts[0]), query: parts.count > 1 ? KubeRequest.queryItems(parts[1]) : [])
    }

    @Test func resourceRequests() {
        #expect(Self.parse("GET", "/api/v1/namespaces/default/pods?limit=500") == KubeRequest(verb: "list", version: "v1", namespace: "default", resource: "pods"))
        #expect(Self.parse("GET", "/api/v1/namespaces/default/pods/web-1") == KubeRequest(verb: "get", version: "v1", namespace: "default", resource: "pods", name: "web-1"))
        #expect(Self.parse("GET", "/api/v1/namespaces/default/pods?watch=true").verb == "watch")
        #expect(Self.parse("GET", "/api/v1/pods") == KubeRequest(verb: "list", version: "v1", resource: "pods"))
        #expect(Self.parse("DELETE", "/api/v1/namespaces/default/pods/web-1").verb == "delete")
        #expect(Self.parse("DELETE", "/api/v1/namespaces/default/pods").verb == "deletecollection")
        #expect(Self.parse("POST", "/api/v1/namespaces/default/pods").verb == "create")
        #expect(Self.parse("PUT", "/apis/apps/v1/namespaces/prod/deployments/api").verb == "update")
        let scale = Self.parse("PATCH", "/apis/apps/v1/namespaces/prod/deployments/api/scale")
        #expect(scale == KubeRequest(verb: "patch", group: "apps", version: "v1", namespace: "prod", resource: "deployments", subresource: "scale", name: "api"))
        #expect(scale.resourcePath == "deployments/scale")
        #expect(scale.summary == "patch deployments/scale/api -n prod")
    }

    @Test func namespacesThemselvesAreClusterScoped() {
        #expect(Self.parse("GET", "/api/v1/namespaces/default") == KubeRequest(verb: "get", version: "v1", resource: "namespaces", name: "default"))
        #expect(Self.parse("DELETE", "/api/v1/namespaces/prod") == KubeRequest(verb: "delete", version: "v1", resource: "namespaces", name: "prod"))
        #expect(Self.parse("GET", "/api/v1/namespaces") == KubeRequest(verb: "list", version: "v1", resource: "namespaces"))
    }

    @Test func execAttachAndPortForward() {
        let exec = Self.parse("POST", "/api/v1/namespaces/default/pods/web-1/exec?command=ls&command=-l&stdout=true")
        #expect(exec.isExec)
        #expect(exec.name == "web-1")
        #expect(Self.parse("GET", "/api/v1/namespaces/default/pods/web-1/attach?stdin=true").isExec)
        #expect(Self.parse("POST", "/api/v1/namespaces/default/pods/web-1/portforward?ports=80").isPortForward)
        #expect(!Self.parse("GET", "/api/v1/namespaces/default/pods/web-1/log?follow=true").isExec)
    }

    @Test func discoveryAndOtherPathsAreNonResourceRequests() {
        for path in ["/api", "/apis", "/apis/apps", "/version", "/openapi/v2", "/healthz"] {
            let request = Self.parse("GET", path)
            #expect(!request.isResourceRequest, "\(path)")
            #expect(request.verb == "get")
            #expect(request.isReadOnly)
        }
        // Group version discovery.
        #expect(!Self.parse("GET", "/api/v1").isResourceRequest)
        #expect(!Self.parse("GET", "/apis/apps/v1").isResourceRequest)
        #expect(!Self.parse("POST", "/version").isReadOnly)
    }

    @Test func execOptionsFromTheQuery() {
        let query = KubeRequest.queryItems("command=sh&command=-c&command=echo%20hi+there&container=app&stdin=true&stdout=true&stderr=true&tty=false")
        let options = KubeExecOptions(query: query)
        #expect(options == KubeExecOptions(command: ["sh", "-c", "echo hi there"], container: "app", stdin: true, stdout: true, stderr: true, tty: false))
    }
}
