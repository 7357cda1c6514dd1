import GatewayConfig
import NIOSSL

/// The client-facing TLS of a gateway, from the `tls:` section (TLS 1.2 and later).
public enum ServerTLS {
    /// Nil without a `tls:` section; `applicationProtocols` offered by ALPN (`http/1.1`).
    public static func context(_ settings: TLSSettings?, applicationProtocols: [String] = []) throws -> NIOSSLContext? {
        guard let settings else { return nil }
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: settings.keyFile, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = applicationProtocols
        return try NIOSSLContext(configuration: configuration)
    }
}
