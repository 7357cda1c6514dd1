import GatewayRuntime
import KubeExecGatewayKit

// The Kubernetes API / exec gateway: the shared runtime loads the configuration, serves the
// admin endpoints and runs the listener in one ServiceGroup.
await GatewayMain.run(.kube) { environment in KubeListener(environment: environment) }
