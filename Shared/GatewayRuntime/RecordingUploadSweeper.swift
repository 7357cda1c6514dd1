import Foundation
import ServiceLifecycle

/// Uploads, at start and then every `interval`, the sealed recordings whose copy to the
/// shared state store is missing (the store was away when they were sealed, or the process
/// stopped before their upload).
public struct RecordingUploadSweeper: Service {
    let uploader: RecordingUploader
    let interval: Duration

    public init(uploader: RecordingUploader, interval: Duration = .seconds(60)) {
        self.uploader = uploader
        self.interval = interval
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await uploader.sweep()
                try await Task.sleep(for: interval)
            }
        }
    }
}
