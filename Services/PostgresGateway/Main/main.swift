import GatewayRuntime
import PostgresGatewayKit

// The PostgreSQL wire-protocol gateway. Wiring only: the shared runtime loads the
// configuration, serves the admin endpoints and runs the listener in one ServiceGroup.
// The relay runs on NIO's event loops as ChannelHandlers. Swift tasks (start-up, reviews,
// recording seals, audit batches, fsyncs) stay on the global pool, so blocking file and
// database work never stalls an event loop.

await GatewayMain.run(.postgres) { environment in PostgresListener(environment: environment) }
