import Foundation
import FuzzDriver
import GatewayConfig

/// The YAML configuration loader on arbitrary text (secrets not resolved, so nothing the text
/// names is read). Invariant: it either returns a configuration or throws with at least one
/// error saying why; it never crashes on what an operator could mistype.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../..").standardized
seedCorpus(["compose-gateway.yaml": Array((try? Data(contentsOf: repository.appendingPathComponent("compose/gateway.yaml"))) ?? Data())])
let loader = ConfigurationLoader(environment: [:], resolveSecrets: false)
let base = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-config-\(getpid())").path

runFuzzer { data, size in
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try loader.load(yaml: text, baseDirectory: base)
    } catch let failure as ConfigurationErrors {
        precondition(!failure.errors.isEmpty, "a configuration refused without a reason")
    } catch {
        preconditionFailure("the loader threw something other than ConfigurationErrors: \(error)")
    }
    return 0
}
