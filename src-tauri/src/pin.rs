//! A TLS hub (`--tls self-signed`) signs its certificate with a CA of its
//! own, served at `/ca.crt` (also over plain HTTP, before anything is
//! trusted). The app trusts that CA for this one hub only, and only once its
//! SHA-256 fingerprint matches: the one in the hub's QR code
//! (`?ca_sha256=`), or the one the user confirmed the first time (and that
//! was saved with the remote-mode choice). Anything else is refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// A fingerprint as people and QR codes write it — hex, any case, with or
/// without `:` or spaces between bytes — as lowercase hex.
pub fn parse_fingerprint(input: &str) -> Result<String, String> {
    let hex: String = input
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "{input:?} is not a certificate fingerprint (64 hexadecimal digits, SHA-256)"
        ));
    }
    Ok(hex)
}

/// The first certificate of a PEM text, as DER.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem
        .find(BEGIN)
        .ok_or("no PEM certificate (BEGIN CERTIFICATE)")?
        + BEGIN.len();
    let len = pem[start..]
        .find(END)
        .ok_or("an unterminated PEM certificate")?;
    let body: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(body)
        .map_err(|e| format!("a PEM certificate that is not base64 ({e})"))?;
    if der.is_empty() {
        return Err("an empty PEM certificate".to_owned());
    }
    Ok(der)
}

pub fn der_to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Lowercase hex SHA-256 of a certificate's DER: the hub's `ca_sha256`.
pub fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the fetched CA's fingerprint says, against what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// As expected: trust it.
    Matches,
    /// Nothing expected yet: the user must see and confirm it first.
    FirstUse,
    /// Not the CA expected: someone else may be answering at that address.
    Mismatch { expected: String },
}

pub fn check(expected: Option<&str>, got: &str) -> Pin {
    match expected {
        None => Pin::FirstUse,
        Some(e) if e.eq_ignore_ascii_case(got) => Pin::Matches,
        Some(e) => Pin::Mismatch {
            expected: e.to_owned(),
        },
    }
}

pub fn mismatch_message(base: &str, expected: &str, got: &str) -> String {
    format!(
        "refused: the hub at {base} presents a different certificate authority than the one \
         pinned for it (expected SHA-256 {expected}, got {got}). Someone else may be posing as \
         the hub. If its certificate was really renewed (its data folder reset), enter the \
         address from the hub's QR code (with ?ca_sha256=) to pin the new one."
    )
}

/// `ab:cd:…` in groups, for people to compare with what the hub's page shows.
pub fn display(fingerprint: &str) -> String {
    fingerprint
        .as_bytes()
        .chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .unwrap_or_default()
                .to_ascii_uppercase()
        })
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "3f4a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90";

    #[test]
    fn fingerprints_are_parsed_in_any_usual_form() {
        assert_eq!(parse_fingerprint(FP).as_deref(), Ok(FP));
        assert_eq!(parse_fingerprint(&FP.to_uppercase()).as_deref(), Ok(FP));
        assert_eq!(parse_fingerprint(&display(FP)).as_deref(), Ok(FP));
        assert_eq!(parse_fingerprint(&format!(" {FP} ")).as_deref(), Ok(FP));
        assert!(parse_fingerprint("").is_err());
        assert!(parse_fingerprint(&FP[..62]).is_err());
        assert!(parse_fingerprint(&format!("{FP}00")).is_err());
        assert!(parse_fingerprint(&FP.replace('3', "g")).is_err());
    }

    #[test]
    fn pinning_first_use_match_and_mismatch() {
        assert_eq!(check(None, FP), Pin::FirstUse);
        assert_eq!(check(Some(FP), FP), Pin::Matches);
        assert_eq!(check(Some(&FP.to_uppercase()), FP), Pin::Matches);
        let other = FP.replace('3', "4");
        assert_eq!(
            check(Some(&other), FP),
            Pin::Mismatch {
                expected: other.clone()
            }
        );
        let msg = mismatch_message("https://10.0.0.5:8443", &other, FP);
        assert!(msg.contains("posing as the hub"), "{msg}");
        assert!(msg.contains(FP) && msg.contains(&other), "{msg}");
    }

    #[test]
    fn pem_round_trip_and_fingerprint() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let pem = der_to_pem(&der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(pem_to_der(&pem), Ok(der.clone()));
        // With text around it and CRLF line ends, as files often have.
        let noisy = format!("subject=CN x\r\n{}", pem.replace('\n', "\r\n"));
        assert_eq!(pem_to_der(&noisy), Ok(der.clone()));
        assert!(pem_to_der("no certificate").is_err());
        assert!(pem_to_der("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----").is_err());
        // Known answer: SHA-256 of "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(display("ab01"), "AB:01");
    }
}
