import KubeExecGatewayCore
import NIOCore
import Testing

@Suite("Kubernetes stream framing")
struct KubeStreamFrameTests {
    @Test func negotiationPrefersTheNewestOffered() {
        #expect(KubeStreamProtocol.negotiate("v4.channel.k8s.io, v5.channel.k8s.io") == .v5)
        #expect(KubeStreamProtocol.negotiate("v4.channel.k8s.io,v4.base64.channel.k8s.io") == .v4)
        #expect(KubeStreamProtocol.negotiate("base64.channel.k8s.io") == .base64)
        #expect(KubeStreamProtocol.negotiate("v6.channel.k8s.io") == nil)
    }

    @Test(arguments: KubeStreamProtocol.allCases)
    func framesSurviveARoundTrip(protocol kind: KubeStreamProtocol) throws {
        for frame in [KubeStreamFrame(.stdout, Array("hello\n".utf8)), KubeStreamFrame(.stdin, []), KubeStreamFrame(.stderr, Array(0...255))] {
            let (data, text) = frame.encode(protocol: kind)
            #expect(text == kind.isBase64)
            #expect(try KubeStreamFrame.decode(Array(data.readableBytesView), text: text, protocol: kind) == frame)
        }
    }

    @Test func binaryFramesCarryTheChannelByte() {
        let (data, _) = KubeStreamFrame(.stderr, Array("x".utf8)).encode(protocol: .v5)
        #expect(Array(data.readableBytesView) == [2, UInt8(ascii: "x")])
        let (text, _) = KubeStreamFrame(.stdout, Array("hi".utf8)).encode(protocol: .v4Base64)
        #expect(String(buffer: text) == "1aGk=")
    }

    @Test func malformedMessagesAreRefused() {
        #expect(throws: KubeStreamFrame.DecodingError.empty) { try KubeStreamFrame.decode([], text: false, protocol: .v5) }
        #expect(throws: KubeStreamFrame.DecodingError.wrongKind(text: true)) { try KubeStreamFrame.decode([1, 2], text: true, protocol: .v4) }
        #expect(throws: KubeStreamFrame.DecodingError.wrongKind(text: false)) { try KubeStreamFrame.decode(Array("1aGk=".utf8), text: false, protocol: .base64) }
        #expect(throws: KubeStreamFrame.DecodingError.badBase64) { try KubeStreamFrame.decode(Array("1a*k".utf8), text: true, protocol: .base64) }
        #expect(throws: KubeStreamFrame.DecodingError.badChannel(UInt8(ascii: "x"))) { try KubeStreamFrame.decode(Array("xaGk=".utf8), text: true, protocol: .base64) }
    }

    @Test func exitStatusesAsKubectlReadsThem() {
        #expect(String(decoding: KubeStatus.exit(0).json, as: UTF8.self) == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}"#)
        let failed = String(decoding: KubeStatus.exit(3).json, as: UTF8.self)
        #expect(failed.contains(#""reason":"NonZeroExitCode""#))
        #expect(failed.contains(#""causes":[{"reason":"ExitCode","message":"3"}]"#))
        let forbidden = String(decoding: KubeStatus.failure(code: 403, reason: "Forbidden", message: "access gateway: \"quoted\"").json, as: UTF8.self)
        #expect(forbidden.contains(#""message":"access gateway: \"quoted\"""#))
        #expect(forbidden.hasSuffix(#","code":403}"#))
    }
}
