import AsyncHTTPClient
import Crypto
import Foundation
import GatewayConfig
import GatewayState
import Logging
import NIOCore

/// Sends review events to the configured `webhooks` as JSON, signed with HMAC-SHA256 of the
/// body (`X-Gateway-Signature: sha256=<hex>`) when the hook has a secret. Delivery runs in
/// the background with retries (1 s, 2 s, 4 s, 8 s): a slow receiver never holds a session.
public struct WebhookNotifier: Sendable {
    public let hooks: [WebhookSettings]
    let logger: Logger
    let client: HTTPClient
    var retryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8)]

    public init(hooks: [WebhookSettings], logger: Logger, client: HTTPClient = .shared) {
        self.hooks = hooks
        self.logger = logger
        self.client = client
    }

    /// `review.created`, `review.approved`, `review.rejected`, `review.expired`, `review.cancelled`.
    public func reviewEvent(_ review: Review, service: String) {
        guard !hooks.isEmpty else { return }
        let type = review.status == .pending ? "review.created" : "review.\(review.status.rawValue)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        struct Event: Encodable {
            var type: String
            var service: String
            var time: Date
            var review: Review
        }
        guard let body = try? encoder.encode(Event(type: type, service: service, time: Date(), review: review)) else { return }
        for hook in hooks {
            let request = Self.request(hook, body: body, type: type)
            Task.detached { [logger, client, retryDelays] in
                for (attempt, delay) in ([Duration.zero] + retryDelays).enumerated() {
                    if delay > .zero { try? await Task.sleep(for: delay) }
                    do {
                        let response = try await client.execute(request, timeout: .seconds(10))
                        if (200..<300).contains(response.status.code) { return }
                        logger.warning("webhook refused an event", metadata: ["gateway.webhook": "\(hook.url)", "gateway.status": "\(response.status.code)", "gateway.attempt": "\(attempt + 1)"])
                    } catch {
                        logger.warning("webhook unreachable", metadata: ["gateway.webhook": "\(hook.url)", "gateway.attempt": "\(attempt + 1)"])
                    }
                }
                logger.error("webhook event dropped after retries", metadata: ["gateway.webhook": "\(hook.url)", "gateway.event": "\(type)"])
            }
        }
    }

    static func request(_ hook: WebhookSettings, body: Data, type: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: hook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Gateway-Event", value: type)
        if let secret = hook.secret {
            request.headers.add(name: "X-Gateway-Signature", value: "sha256=" + signature(body, secret: secret.value))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// Lowercase hex HMAC-SHA256 of the body.
    public static func signature(_ body: Data, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }
}
