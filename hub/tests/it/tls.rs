//! HTTPS on the HTTP port (`--tls`): the local CA, trust, plain HTTP from
//! loopback, the Secure cookie, reloading certificate files, and the CA
//! kept across restarts. The redirect of plain HTTP from the LAN is
//! unit-tested in `tls::serve` (tests only talk to loopback).

use std::path::Path;
use std::time::Duration;

use cradle_hub::config::{Settings, TlsMode};
use cradle_hub::start;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::TestHub;

/// A client that trusts only `ca_pem` (nothing at all without it).
fn https_client(ca_pem: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("CA PEM"));
    }
    b.build().expect("https client")
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

fn sha256_of_pem(pem: &str) -> String {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).expect("one certificate");
    Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn self_signed_https_works_with_the_ca_and_only_with_it() {
    let t = TestHub::start_with(|s| s.tls = TlsMode::SelfSigned).await;
    let port = t.hub.http_addr.port();
    let plain = plain_client();

    // Plain HTTP from loopback is served as before (the desktop app).
    let res = plain.get(t.url("/ca.crt")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/x-x509-ca-cert");
    let ca_pem = res.text().await.unwrap();
    assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let res = plain.get(t.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let trusting = https_client(Some(&ca_pem));
    for host in ["127.0.0.1", "localhost"] {
        let res = trusting
            .get(format!("https://{host}:{port}/health"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("HTTPS to {host} with the CA: {e:?}"));
        assert_eq!(res.status(), StatusCode::OK);
    }
    let err = https_client(None)
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .expect_err("HTTPS without the CA is refused");
    assert!(err.is_connect(), "{err:?}");

    // hub_info: the HTTPS addresses and the CA's fingerprint, old fields kept.
    let info: Value = trusting
        .get(format!("https://localhost:{port}/api/hub_info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["tls"], "self-signed");
    assert_eq!(info["ca_sha256"], sha256_of_pem(&ca_pem));
    assert!(
        info["urls"].as_array().is_some_and(|u| !u.is_empty()),
        "{info}"
    );
    assert!(info["mqtt_port"].is_number(), "{info}");
    assert!(
        info["https_urls"].as_array().is_some_and(|u| u
            .iter()
            .any(|u| u == &json!(format!("https://localhost:{port}")))),
        "{info}"
    );
    // The QR (default text) carries both too.
    let svg = trusting
        .get(format!("https://localhost:{port}/api/hub_qr.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(svg.status(), StatusCode::OK);

    // The install page: both languages, no script, its own strict CSP.
    for (lang, word) in [("en", "Android"), ("ko", "인증서")] {
        let res = trusting
            .get(format!("https://localhost:{port}/ca"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let html = res.text().await.unwrap();
        assert!(html.contains(word), "{lang}");
        assert!(!html.contains("<script"));
        let fp = info["ca_sha256"].as_str().unwrap()[..2].to_uppercase();
        assert!(html.contains(&format!("{fp}:")), "fingerprint on the page");
    }

    // The session cookie is Secure over TLS only.
    let mut c = t.client();
    c.signup("tls-user").await;
    let login = json!({"username": "tls-user", "password": "pass-word"});
    let res = trusting
        .post(format!("https://localhost:{port}/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    // Browsers speak HTTP/2 over TLS, where the host comes as `:authority`:
    // a same-origin POST must still count as same-origin.
    let res = trusting
        .post(format!("https://localhost:{port}/login"))
        .header("origin", format!("https://localhost:{port}"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.status(), StatusCode::OK);
    let res = plain
        .post(t.url("/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(!cookie.contains("Secure"), "{cookie}");

    t.hub.shutdown().await;
}

#[tokio::test]
async fn tls_off_keeps_everything_as_it_was() {
    let t = TestHub::start().await;
    let info: Value = plain_client()
        .get(t.url("/api/hub_info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["tls"], "off");
    assert_eq!(info["https_urls"], json!([]));
    assert_eq!(info["ca_sha256"], Value::Null);
    let res = plain_client().get(t.url("/ca.crt")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    t.hub.shutdown().await;
}

#[tokio::test]
async fn the_ca_is_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let settings = || {
        let mut s = Settings::ephemeral(dir.path());
        s.tls = TlsMode::SelfSigned;
        s
    };
    let first = start(settings()).await.expect("hub starts");
    let ca = first
        .state
        .tls
        .clone()
        .expect("tls on")
        .ca
        .clone()
        .expect("a CA");
    first.shutdown().await;

    let key = dir.path().join("tls").join("ca.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the CA key is private");
    }

    let second = start(settings()).await.expect("hub restarts");
    let again = second.state.tls.clone().unwrap().ca.clone().unwrap();
    assert_eq!(again.pem, ca.pem, "the same CA");
    assert_eq!(again.sha256, ca.sha256);
    // A device that trusted the CA before the restart still trusts the hub.
    let res = https_client(Some(&ca.pem))
        .get(format!(
            "https://localhost:{}/health",
            second.http_addr.port()
        ))
        .send()
        .await
        .expect("HTTPS with the CA of the first run");
    assert_eq!(res.status(), StatusCode::OK);
    second.shutdown().await;
}

/// A test CA and a `localhost` certificate signed by it, written to files.
struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn write_leaf(&self, cert: &Path, key: &Path) {
        let leaf_key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let leaf = params.signed_by(&leaf_key, &self.issuer).unwrap();
        // The key first: the hub may look between the two writes, and a
        // new key with the old certificate is refused, not half-used.
        std::fs::write(key, leaf_key.serialize_pem()).unwrap();
        std::fs::write(cert, leaf.pem()).unwrap();
    }
}

async fn https_ok(ca_pem: &str, port: u16) -> bool {
    https_client(Some(ca_pem))
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
}

#[tokio::test]
async fn files_mode_reloads_a_replaced_certificate_and_keeps_it_over_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let a = TestCa::new("Test CA A");
    a.write_leaf(&cert, &key);
    let (c, k) = (cert.clone(), key.clone());
    let t = TestHub::start_with(move |s| {
        s.tls = TlsMode::Files;
        s.tls_cert = Some(c);
        s.tls_key = Some(k);
    })
    .await;
    let port = t.hub.http_addr.port();
    assert!(https_ok(&a.pem, port).await, "the certificate from CA A");
    let tls = t.hub.state.tls.clone().unwrap();
    assert_eq!(tls.mode, TlsMode::Files);
    assert!(tls.ca.is_none(), "no local CA to offer");

    let b = TestCa::new("Test CA B");
    b.write_leaf(&cert, &key);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !https_ok(&b.pem, port).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replaced certificate was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!https_ok(&a.pem, port).await, "the old certificate is gone");

    // A broken file: the hub keeps the last good certificate.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    tokio::time::sleep(cradle_hub::tls::certs::FILES_POLL * 2).await;
    assert!(
        https_ok(&b.pem, port).await,
        "still the last good certificate"
    );

    t.hub.shutdown().await;
}

#[tokio::test]
async fn files_mode_refuses_to_start_without_a_usable_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, "nothing").unwrap();
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let mut s = Settings::ephemeral(dir.path().join("data"));
    s.tls = TlsMode::Files;
    s.tls_cert = Some(cert);
    s.tls_key = Some(key);
    let err = match start(s).await {
        Ok(hub) => {
            hub.shutdown().await;
            panic!("started with a bad certificate")
        }
        Err(e) => e.to_string(),
    };
    assert!(err.contains("cert.pem"), "{err}");
    // The key file's contents never end up in the message.
    assert!(!err.contains("c2VjcmV0"), "{err}");
}

#[tokio::test]
async fn shutdown_is_prompt_with_open_https_and_plain_connections() {
    let t = TestHub::start_with(|s| s.tls = TlsMode::SelfSigned).await;
    let port = t.hub.http_addr.port();
    let ca = t.hub.state.tls.clone().unwrap().ca.clone().unwrap();
    // Idle keep-alive connections of both kinds stay open in the pools.
    let https = https_client(Some(&ca.pem));
    let res = https
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let plain = plain_client();
    let res = plain.get(t.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A connection that never sends a byte.
    let _silent = tokio::net::TcpStream::connect(t.hub.http_addr)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    t.hub.shutdown().await;
    // Well under the 1 s after which the server task is aborted.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}
