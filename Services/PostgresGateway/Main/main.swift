import GatewayRuntime
import NIOCore
import NIOPosix
import PostgresGatewayKit

// The PostgreSQL wire-protocol gateway. Wiring only: the shared runtime loads the
// configuration, serves the admin endpoints and runs the listener in one ServiceGroup.

// Swift concurrency runs on NIO's event loops: a relay task then resumes on the thread that
// read the bytes, instead of hopping to the global pool and back for every message.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

await GatewayMain.run(.postgres) { environment in PostgresListener(environment: environment) }
