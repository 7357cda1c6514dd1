import GatewayRuntime

// The Kubernetes API / exec gateway. Wiring only: the shared runtime loads the configuration, serves
// the admin endpoints and runs the protocol listener in one ServiceGroup.
// The protocol listener is not implemented yet in this build: the gateway starts, serves
// /healthz, /readyz (which says so) and /metrics, and the admin API.
await GatewayMain.run(.kube) { _ in nil }
