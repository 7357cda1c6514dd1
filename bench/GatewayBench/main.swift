import Foundation
import GatewayMasking
import GatewayPolicy
import GatewayState

// gateway-bench: throughput of the masking engine and the policy engine.
// Build in release: swift build -c release --product gateway-bench && .build/release/gateway-bench
// Each result is reported beside a baseline measured in the same run.

func measure(_ label: String, seconds: Double = 2, _ body: () -> Int) -> Double {
    // Warm up, then run until `seconds` have passed; returns units per second.
    _ = body()
    var units = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
        units += body()
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    return Double(units) / elapsed
}

// Audit trail: what one allowed statement's audit row costs in the SQLite state store, in CPU
// time of the whole process (the writes run on the store's own queue), batched as the gateway
// batches them (every 200 ms: about 5,000 rows at 25,000 statements per second).
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
func auditBench() async throws {
    let auditFolder = NSTemporaryDirectory() + "gateway-bench-audit-\(getpid())"
    let auditStore = try SQLiteStateStore(path: auditFolder + "/state.sqlite")
    try await auditStore.migrate()
    let batches = 20
    let perBatch = 5_000
    var auditCPU = 0.0
    var buildCPU = 0.0
    for batch in 0..<batches {
        let built = processCPUSeconds()
        let events = (0..<perBatch).map { index in
            AuditEvent(
                action: "allow", service: "postgres-gateway", connection: "bench", sessionID: "s-0123456789abcdef",
                subject: "agent-1", email: "agent@example.com", groups: ["agents"],
                command: "SELECT abalance FROM pgbench_accounts WHERE aid = \(batch * perBatch + index);"
            )
        }
        let start = processCPUSeconds()
        buildCPU += start - built
        try await auditStore.append(contentsOf: events)
        auditCPU += processCPUSeconds() - start
    }
    try? FileManager.default.removeItem(atPath: auditFolder)
    print("")
    print("audit trail (SQLite state store, batches of \(perBatch))")
    print(String(format: "  building an event                  %6.2f us", buildCPU / Double(batches * perBatch) * 1e6))
    print(String(format: "  storing an event                   %6.2f us CPU", auditCPU / Double(batches * perBatch) * 1e6))
}

// `gateway-bench relay LISTEN-PORT UPSTREAM-PORT` runs the bare relay (a baseline for bench/pg-bench.sh).
if CommandLine.arguments.dropFirst().first == "relay", CommandLine.arguments.count == 4,
   let listen = Int(CommandLine.arguments[2]), let upstream = Int(CommandLine.arguments[3]) {
    try await BareRelay.run(listenPort: listen, upstreamPort: upstream)
    exit(0)
}

// `gateway-bench audit` runs only the audit section.
if CommandLine.arguments.dropFirst().first == "audit" {
    try await auditBench()
    exit(0)
}

/// Realistic mixed text: log lines, JSON rows and prose, with sensitive values sprinkled in
/// at about one per 400 bytes.
func corpus(megabytes: Int) -> [UInt8] {
    let lines = [
        "2026-11-29T10:15:32.120Z INFO request completed path=/api/orders/1842 status=200 duration_ms=12.4 user_id=88123\n",
        "{\"id\": 1842, \"customer\": \"Jane Roe\", \"email\": \"jane.roe@example.com\", \"total\": 129.95, \"currency\": \"EUR\"}\n",
        "The quick brown fox jumps over the lazy dog while the deployment rolls out to the second availability zone.\n",
        "payment accepted card=4111 1111 1111 1111 amount=42.00 merchant=ACME-STORE-17 ref=7f3a9c2e\n",
        "connection from 10.24.3.117 port 51822 accepted; session opened for user deploy by (uid=0)\n",
        "SELECT id, name, created_at FROM accounts WHERE region = 'eu-west-1' ORDER BY created_at DESC LIMIT 50;\n",
        "contact: +44 20 7946 0958, ssn 123-45-6789, iban DE89 3704 0044 0532 0130 00\n",
        "drwxr-xr-x  5 deploy deploy  4096 Nov 29 10:15 releases/20261129101500-a1b2c3d\n",
        "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE; token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\n",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore.\n",
    ]
    var data: [UInt8] = []
    data.reserveCapacity(megabytes << 20)
    var index = 0
    while data.count < megabytes << 20 {
        data.append(contentsOf: lines[index % lines.count].utf8)
        index += 1
    }
    return data
}

let data = corpus(megabytes: 8)
let megabytes = Double(data.count) / 1_048_576
let engine = MaskingEngine(policy: MaskingPolicy(entities: Set(MaskingEntity.allCases)))

print("gateway-bench — \(ProcessInfo.processInfo.processorCount) cores, corpus \(String(format: "%.1f", megabytes)) MiB of mixed text")
print("")

// Baselines, same corpus, same run:
// 1. a plain pass over every byte (counting newlines): the floor of any inspecting relay;
// 2. a regular-expression masker (NSRegularExpression) for just EMAIL and CREDIT_CARD,
//    the usual way proxies do it.
nonisolated(unsafe) var scanSink = 0
let scanRate = measure("scan") {
    var newlines = 0
    data.withUnsafeBufferPointer { buffer in
        for byte in buffer where byte == 0x0A { newlines &+= 1 }
    }
    scanSink &+= newlines
    return data.count
}
let regexSample = Array(data.prefix(1 << 20))
let regexText = String(decoding: regexSample, as: UTF8.self)
let regex = try NSRegularExpression(pattern: #"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|\b(?:\d[ -]?){13,19}\b"#)
let regexRate = measure("regex") {
    let masked = regex.stringByReplacingMatches(in: regexText, range: NSRange(location: 0, length: (regexText as NSString).length), withTemplate: "[MASKED]")
    return regexSample.count + (masked.isEmpty ? 1 : 0)
}

var totalHits = 0
let streamRate = measure("stream") {
    var stream = engine.makeStream()
    var out = 0
    var offset = 0
    while offset < data.count {
        let end = min(offset + 16384, data.count)
        out &+= stream.process(Array(data[offset..<end])).count
        offset = end
    }
    out &+= stream.finish().count
    totalHits = stream.takeHits().total
    return data.count
}

// Whole values as in result rows: one line per value.
let values = data.split(separator: UInt8(ascii: "\n")).prefix(20000).map(Array.init)
let valueBytes = values.reduce(0) { $0 + $1.count }
let valueRate = measure("values") {
    var hits = MaskingHits()
    for value in values { _ = engine.mask(value, hits: &hits) }
    return valueBytes
}

print("masking (all 8 entities)")
print(String(format: "  baseline: byte scan                      %8.1f MB/s", scanRate / 1e6))
print(String(format: "  baseline: NSRegularExpression, 2 entities %7.1f MB/s", regexRate / 1e6))
print(String(format: "  gateway streaming, 16 KiB chunks         %8.1f MB/s   ×%.1f the regex masker, %.3f of a byte scan   (%d matches per pass)", streamRate / 1e6, streamRate / regexRate, streamRate / scanRate, totalHits))
print(String(format: "  gateway whole values (%d rows)        %8.1f MB/s   ×%.1f the regex masker", values.count, valueRate / 1e6, valueRate / regexRate))

// Policy engine.
let policy = ConnectionPolicy(
    connection: "orders", allowGroups: ["agents"],
    guardrails: [
        Guardrail(name: "no-drop", pattern: try PatternMatcher(#"(?i)\bdrop\s+(table|schema|database)\b"#)),
        Guardrail(name: "no-unbounded-delete", statement: .deleteWithoutWhere),
        Guardrail(name: "no-unbounded-update", statement: .updateWithoutWhere),
        Guardrail(name: "no-truncate", statement: .truncate),
    ],
    approvals: [ApprovalRule(name: "writes", pattern: try PatternMatcher(#"(?i)^\s*(update|delete|insert)\b"#), reviewerGroups: ["dba"])]
)
let agent = Identity(subject: "agent", groups: ["agents"], issuer: "bench", expiresAt: .distantFuture)
let statements: [Command] = [
    .sql("SELECT id, email FROM customers WHERE id = $1"),
    .sql("SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.region = 'eu' ORDER BY o.created_at DESC LIMIT 20"),
    .sql("UPDATE orders SET status = 'shipped' WHERE id = 42"),
    .sql("SELECT 1; /* sneaky */ DROP TABLE orders"),
    .sql("WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone"),
    .sql("INSERT INTO audit_log (actor, action) VALUES ('agent', 'read')"),
]
let policyEngine = PolicyEngine()
let decisionRate = measure("policy") {
    var n = 0
    for command in statements {
        _ = policyEngine.decide(command, by: agent, on: policy)
        n += 1
    }
    return n
}
let splitRate = measure("split") {
    var n = 0
    for command in statements {
        n += SQLSplitter.split(command.text).count > 0 ? 1 : 0
    }
    return n
}
// pgbench's statement under bench/pg-bench.sh's guardrails: the pre-check answers without lexing.
let pgbenchPolicy = ConnectionPolicy(connection: "bench", allowGroups: ["agents"], guardrails: Array(policy.guardrails.prefix(2)))
let pgbenchStatement = Command.sql("SELECT abalance FROM pgbench_accounts WHERE aid = 48211;")
let precheckRate = measure("precheck") {
    _ = policyEngine.decide(pgbenchStatement, by: agent, on: pgbenchPolicy)
    return 1
}
let shellPolicy = ConnectionPolicy(connection: "web", allowGroups: ["agents"], guardrails: [Guardrail(name: "no-rm-rf", pattern: try PatternMatcher(#"rm\s+-[a-z]*r[a-z]*f"#))])
let shellRate = measure("shell") {
    _ = policyEngine.decide(.shell("find /var/log -name '*.gz' -mtime +30 -print"), by: agent, on: shellPolicy)
    return 1
}
print("")
print("policy engine")
if scanSink == 0 { print("(empty corpus)") }
print(String(format: "  SQL decisions (6-statement mix) %9.0f /s   (lexing and splitting alone: %.0f /s, ratio %.2f)", decisionRate, splitRate, decisionRate / splitRate))
print(String(format: "  SQL decision, pgbench's SELECT  %9.0f /s   (answered by the pre-check, no lexing)", precheckRate))
print(String(format: "  shell command decisions         %9.0f /s", shellRate))


try await auditBench()
