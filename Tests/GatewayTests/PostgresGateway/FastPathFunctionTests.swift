import NIOCore
@testable import PostgresGatewayKit
import PostgresWire
import Testing

/// Fast-path calls (FunctionCall messages) are parsed strictly, and only the large-object
/// functions pass, each named as the SQL the policy checks.
@Suite("Fast-path function calls")
struct FastPathFunctionTests {
    /// A FunctionCall as libpq's PQfn writes it: OID, argument formats, arguments, result format.
    static func call(_ function: UInt32, arguments: [[UInt8]], truncatedBy cut: Int = 0) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(function)
        payload.writeInteger(Int16(1))
        payload.writeInteger(Int16(1))
        payload.writeInteger(Int16(arguments.count))
        for argument in arguments {
            payload.writeInteger(Int32(argument.count))
            payload.writeBytes(argument)
        }
        payload.writeInteger(Int16(1))
        payload.moveWriterIndex(to: payload.writerIndex - cut)
        return PostgresFrame(type: PostgresMessageType.functionCall, payload: payload)
    }

    @Test func aLargeObjectWriteIsCheckedAsItsSQL() throws {
        let call = try FrontendMessages.parseFunctionCall(Self.call(955, arguments: [[0, 0, 0, 0], Array("data".utf8)]))
        #expect(call == FrontendMessages.FunctionCall(function: 955, argumentCount: 2))
        #expect(FastPathFunction.sql(for: call) == "SELECT pg_catalog.lowrite($1, $2)")
        #expect(FastPathFunction.sql(for: .init(function: 957, argumentCount: 1)) == "SELECT pg_catalog.lo_creat($1)")
    }

    @Test func anyOtherFunctionIsRefused() throws {
        // pg_backend_pid, and server-side lo_import (reads the server's files).
        for function: UInt32 in [2026, 764, 0, .max] {
            let call = try FrontendMessages.parseFunctionCall(Self.call(function, arguments: []))
            #expect(FastPathFunction.sql(for: call) == nil)
            #expect(FastPathFunction.refusal(for: call).contains("OID \(function)"))
        }
    }

    @Test(arguments: [1, 2, 3, 6, 10])
    func aTruncatedCallIsAProtocolError(_ cut: Int) {
        #expect(throws: PostgresProtocolError.self) {
            try FrontendMessages.parseFunctionCall(Self.call(955, arguments: [[0, 0, 0, 0], Array("data".utf8)], truncatedBy: cut))
        }
    }
}
