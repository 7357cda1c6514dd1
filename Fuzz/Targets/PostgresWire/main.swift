import FuzzDriver
import PostgresWireFuzzing

/// The PostgreSQL front-end and back-end decoders on arbitrary bytes, both sides: start-up
/// (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), every typed message the gateway
/// parses, and the result tracker fed whatever they decode to. Thrown errors are the expected
/// answer to garbage; a crash or a sanitizer report is a bug.
runFuzzer { data, size in
    FuzzEntryPoints.wire(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
