import Foundation
import GatewayIdentity
import GatewayPolicy
import GatewayRecording
import GatewayState
import Hummingbird

/// The admin HTTP surface every gateway serves on its `admin` address.
public enum AdminRouter {
    public static func make(_ context: AdminContext) -> Router<BasicRequestContext> {
        let router = Router()
        let api = AdminAPI(context: context)

        router.get("/healthz") { _, _ in JSONResponse.make(["status": "ok", "service": context.service]) }
        router.get("/readyz") { _, _ in await api.readiness() }
        router.get("/metrics") { _, _ in
            JSONResponse.raw(Data(context.metrics.exposition().utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }

        router.get("/api/reviews") { request, _ in
            await api.handle(request) { identity in try await api.listReviews(request, identity) }
        }
        router.get("/api/reviews/:id") { request, ctx in
            await api.handle(request) { identity in try await api.showReview(try ctx.parameters.require("id"), identity) }
        }
        router.post("/api/reviews/:id/approve") { request, ctx in
            let id = ctx.parameters.get("id") ?? ""
            let body = try? await request.body.collect(upTo: 64 * 1024)
            return await api.handle(request) { identity in try await api.decide(id, approve: true, body: body, identity) }
        }
        router.post("/api/reviews/:id/reject") { request, ctx in
            let id = ctx.parameters.get("id") ?? ""
            let body = try? await request.body.collect(upTo: 64 * 1024)
            return await api.handle(request) { identity in try await api.decide(id, approve: false, body: body, identity) }
        }
        router.get("/api/sessions") { request, _ in
            await api.handle(request) { identity in try await api.listSessions(request, identity) }
        }
        router.post("/api/sessions/:id/kill") { request, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return await api.handle(request) { identity in try await api.kill(id, identity) }
        }
        router.get("/api/audit") { request, _ in
            await api.handle(request) { identity in try await api.audit(request, identity) }
        }
        router.get("/api/recordings") { request, _ in
            await api.handle(request) { identity in try await api.listRecordings(identity) }
        }
        router.get("/api/recordings/:id") { request, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return await api.handle(request) { identity in try await api.showRecording(id, identity) }
        }
        router.get("/api/recordings/:id/files/:name") { request, ctx in
            let id = ctx.parameters.get("id") ?? ""
            let name = ctx.parameters.get("name") ?? ""
            return await api.handle(request) { identity in try await api.recordingFile(id, name, identity) }
        }
        return router
    }
}
