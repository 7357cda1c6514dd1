import GatewayMasking
import GatewayPolicy
import NIOCore
import PostgresWire

/// Every decoder and parser on arbitrary bytes: what a libFuzzer harness calls
/// (`LLVMFuzzerTestOneInput` → `wire` / `policyAndMasking`) and what the hostile-input
/// regression tests run. Any crash here is a bug; thrown errors are fine.
public enum FuzzEntryPoints {
    public static func wire(_ bytes: UnsafeRawBufferPointer) {
        for side in [PostgresFrameDecoder.Side.client, .server] {
            var decoder = PostgresFrameDecoder(side: side, maximumLength: 1 << 20)
            var buffer = ByteBuffer(bytes: bytes)
            var tracker = ResultTracker()
            while let frame = try? decoder.decode(buffer: &buffer) {
                _ = try? StartupRequest.parse(frame)
                _ = try? FrontendMessages.parseQuery(frame)
                _ = try? FrontendMessages.parseParse(frame)
                if let bind = try? FrontendMessages.parseBind(frame) {
                    tracker.bind(portal: bind.portal, statement: bind.statement, resultFormats: bind.resultFormats)
                }
                _ = try? FrontendMessages.parseTarget(frame)
                _ = try? FrontendMessages.parseExecute(frame)
                if (try? FrontendMessages.parseFunctionCall(frame)) != nil { tracker.functionCall() }
                _ = try? FrontendMessages.parsePassword(frame)
                _ = try? BackendMessages.parseAuthentication(frame)
                _ = BackendMessages.parseFields(frame)
                if let columns = try? RowMessages.parseRowDescription(frame) { tracker.rowDescription(columns) }
                if let values = try? RowMessages.parseDataRow(frame) {
                    _ = tracker.columnsForDataRow()
                    _ = RowMessages.dataRow(values)
                }
                _ = RowMessages.commandTag(frame)
                tracker.execute(portal: "")
                tracker.resultEnded()
                if frame.type == PostgresMessageType.readyForQuery { tracker.readyForQuery() }
            }
        }
    }

    static let masking = MaskingEngine(policy: MaskingPolicy(columns: ["email"], entities: Set(MaskingEntity.allCases)))

    public static func policyAndMasking(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = SQLSplitter.split(text)
        _ = SQLAnalyzer.analyze(text)
        var hits = MaskingHits()
        _ = masking.mask(bytes.bindMemory(to: UInt8.self), hits: &hits)
        var stream = masking.makeStream()
        let half = bytes.count / 2
        _ = stream.process(UnsafeRawBufferPointer(rebasing: bytes[..<half]))
        _ = stream.process(UnsafeRawBufferPointer(rebasing: bytes[half...]))
        _ = stream.finish()
    }
}
