import Crypto
import Foundation

/// Checks a recording folder against its seal, offline.
public enum RecordingVerifier {
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// The file that does not match (or `seal.json`).
        public var file: String
        public var reason: String
        public var description: String { "\(file): \(reason)" }
    }

    public struct Report: Sendable {
        public var seal: RecordingSeal
        public var signed: Bool
        public var files: [String]
    }

    /// Verifies the folder. `trustedKeys` (base64 Ed25519 public keys) pins the signer: when
    /// it is not empty, the seal must be signed by one of them.
    public static func verify(folder: String, trusting trustedKeys: Set<String> = []) throws(Problem) -> Report {
        let sealData = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(RecordingSeal.fileName))
        guard sealData != nil else {
            throw Problem(file: RecordingSeal.fileName, reason: "missing: the recording is not sealed")
        }
        let actual: [String: String]
        do {
            actual = try RecordingSeal.digests(in: folder)
        } catch {
            throw Problem(file: folder, reason: "cannot read: \(error)")
        }
        return try verify(seal: sealData, digests: actual, trusting: trustedKeys)
    }

    /// Verifies a recording held elsewhere (the state store's copy): `digests` are the SHA-256
    /// of each file as it is there now (`RecordingFileDigest`), `seal` the `seal.json` bytes.
    /// Whoever can write where the copy is held can also rewrite its seal to match: only a
    /// signature by a trusted key (`trustedKeys`) tells such a forgery from the original.
    public static func verify(seal sealData: Data?, digests actual: [String: String], trusting trustedKeys: Set<String> = []) throws(Problem) -> Report {
        guard let sealData else {
            throw Problem(file: RecordingSeal.fileName, reason: "missing: the recording is not sealed")
        }
        guard let seal = try? JSONDecoder().decode(RecordingSeal.self, from: sealData) else {
            throw Problem(file: RecordingSeal.fileName, reason: "not a valid seal")
        }
        for name in seal.files.keys.sorted() {
            guard let digest = actual[name] else { throw Problem(file: name, reason: "missing") }
            guard digest == seal.files[name] else { throw Problem(file: name, reason: "altered: SHA-256 does not match the seal") }
        }
        for name in actual.keys.sorted() where seal.files[name] == nil {
            throw Problem(file: name, reason: "added after sealing")
        }
        var signed = false
        if let signature = seal.signature {
            guard let keyText = seal.publicKey, let keyData = Data(base64Encoded: keyText),
                  let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyData),
                  let signatureData = Data(base64Encoded: signature),
                  let payload = try? seal.signedPayload() else {
                throw Problem(file: RecordingSeal.fileName, reason: "malformed signature")
            }
            guard key.isValidSignature(signatureData, for: payload) else {
                throw Problem(file: RecordingSeal.fileName, reason: "altered: the signature does not verify")
            }
            signed = true
        }
        if let problem = signerProblem(signed ? seal.publicKey : nil, trusting: trustedKeys) { throw problem }
        return Report(seal: seal, signed: signed, files: seal.files.keys.sorted())
    }

    /// The signer pin alone, for a seal whose signature is valid: `signer` is its public key
    /// (nil: unsigned). Nil when `trustedKeys` is empty or holds the signer.
    public static func signerProblem(_ signer: String?, trusting trustedKeys: Set<String>) -> Problem? {
        guard !trustedKeys.isEmpty else { return nil }
        guard let signer else { return Problem(file: RecordingSeal.fileName, reason: "not signed, but a signature was required") }
        return trustedKeys.contains(signer) ? nil : Problem(file: RecordingSeal.fileName, reason: "signed by an untrusted key")
    }
}
