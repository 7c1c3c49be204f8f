//! HTTPS on the LAN (issue 13): placeholder the TLS work fills in.

/// What the UI and the QR need to know about the hub's certificate.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    /// PEM of the local CA, served at `/ca.crt`.
    pub ca_pem: String,
    /// SHA-256 of the CA certificate (DER), hex.
    pub ca_sha256: String,
}
