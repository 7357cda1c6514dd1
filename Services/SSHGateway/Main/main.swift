import GatewayRuntime
import SSHGatewayKit

// The SSH gateway. Wiring only: the shared runtime loads the configuration, serves the admin
// endpoints and runs the SSH listener in one ServiceGroup.
await GatewayMain.run(.ssh) { environment in try SSHListener(environment: environment) }
