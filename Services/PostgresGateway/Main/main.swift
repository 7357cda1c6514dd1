import GatewayRuntime
import PostgresGatewayKit

// The PostgreSQL wire-protocol gateway. Wiring only: the shared runtime loads the
// configuration, serves the admin endpoints and runs the listener in one ServiceGroup.
await GatewayMain.run(.postgres) { environment in PostgresListener(environment: environment) }
