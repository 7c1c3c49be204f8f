//! `/ca.crt` and `/ca`: the local CA and how to trust it. Both are also
//! served over plain HTTP to LAN clients (see `tls::serve`): a phone needs
//! them before it trusts the hub's certificate. The fingerprint on the
//! page and in the settings QR is how a person checks what they installed.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::i18n::Lang;
use crate::tls::CaPublic;

pub async fn ca_cert(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ca = local_ca(&state)?;
    Ok((
        [
            // The type iOS and Android offer to install from a download.
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-x509-ca-cert"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"cradle-hub-ca.crt\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        ca.pem.clone(),
    )
        .into_response())
}

fn local_ca(state: &AppState) -> Result<&CaPublic, ApiError> {
    state
        .tls
        .as_ref()
        .and_then(|t| t.ca.as_ref())
        .ok_or_else(ApiError::not_found)
}

#[derive(Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

/// The page has no script, so it gets a strict policy of its own.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub async fn install_page(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let ca = local_ca(&state)?;
    // A link on the page switches language; otherwise Accept-Language.
    let lang = match q.lang.as_deref() {
        Some("ko") => Lang::Ko,
        Some("en") => Lang::En,
        _ => lang,
    };
    let html = page(lang, &fingerprint(&ca.sha256));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok((headers, html).into_response())
}

/// `AB:CD:…`, as Android, iOS, macOS and Windows show it.
fn fingerprint(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

struct Text {
    lang: &'static str,
    title: &'static str,
    lead: &'static str,
    download: &'static str,
    fingerprint: &'static str,
    check: &'static str,
    then: &'static str,
    open: &'static str,
    other_lang: (&'static str, &'static str),
    platforms: [(&'static str, &'static [&'static str]); 5],
}

const EN: Text = Text {
    lang: "en",
    title: "Trust this hub’s certificate",
    lead: "The hub makes its own certificates for HTTPS on your home network. Install its certificate authority (CA) once on each phone or computer, and the browser opens the hub over HTTPS without warnings. The camera (for QR codes), notifications and offline use need HTTPS.",
    download: "Download the CA certificate",
    fingerprint: "SHA-256 fingerprint",
    check: "Before you trust it, check that your device shows the same fingerprint as this page and the hub’s settings screen. Only install it from your own hub.",
    then: "Then open the hub again; the address starts with https://.",
    open: "Open the hub",
    other_lang: ("?lang=ko", "한국어"),
    platforms: [
        (
            "Android",
            &[
                "Tap “Download the CA certificate” above.",
                "Open Settings → Security & privacy → More security settings → Encryption & credentials → Install a certificate → CA certificate (the names differ a little between makers; search Settings for “CA certificate”).",
                "Tap “Install anyway” and pick the downloaded cradle-hub-ca.crt.",
                "Chrome trusts it from then on. Restart Chrome if the page still warns.",
            ],
        ),
        (
            "iPhone and iPad",
            &[
                "Open this page in Safari and tap “Download the CA certificate”; allow the download of the configuration profile.",
                "Open Settings → General → VPN & Device Management, tap the “Cradle Hub local CA” profile and tap Install.",
                "Open Settings → General → About → Certificate Trust Settings and turn on full trust for “Cradle Hub local CA”.",
            ],
        ),
        (
            "macOS",
            &[
                "Download the certificate and double-click it: Keychain Access adds it to your keychain.",
                "In Keychain Access, double-click “Cradle Hub local CA”, open Trust and set “When using this certificate” to “Always Trust”; close the window and confirm with your password.",
                "Firefox has its own list: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import.",
            ],
        ),
        (
            "Windows",
            &[
                "Download the certificate and double-click it, then choose Install Certificate.",
                "Choose Current User, then “Place all certificates in the following store” → Browse → “Trusted Root Certification Authorities”, then Next and Finish; confirm the warning after checking the fingerprint.",
                "Restart the browser. Firefox: import it under Settings → Certificates → View Certificates → Authorities.",
            ],
        ),
        (
            "Linux",
            &[
                "Debian and Ubuntu: sudo cp cradle-hub-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates",
                "Fedora: sudo cp cradle-hub-ca.crt /etc/pki/ca-trust/source/anchors/ && sudo update-ca-trust",
                "Chrome and Chromium (package libnss3-tools): certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n \"Cradle Hub local CA\" -i cradle-hub-ca.crt",
                "Firefox: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import.",
            ],
        ),
    ],
};

const KO: Text = Text {
    lang: "ko",
    title: "이 허브의 인증서 신뢰하기",
    lead: "허브는 집 안 네트워크에서 HTTPS를 쓰기 위해 인증서를 직접 만듭니다. 휴대폰이나 컴퓨터마다 허브의 인증 기관(CA) 인증서를 한 번 설치하면 브라우저가 경고 없이 HTTPS로 허브를 엽니다. 카메라(QR 코드), 알림, 오프라인 사용에는 HTTPS가 필요합니다.",
    download: "CA 인증서 내려받기",
    fingerprint: "SHA-256 지문",
    check: "신뢰하기 전에 기기에 표시된 지문이 이 페이지와 허브 설정 화면의 지문과 같은지 확인하세요. 반드시 내 허브에서 받은 인증서만 설치하세요.",
    then: "그다음 허브를 다시 여세요. 주소가 https://로 시작합니다.",
    open: "허브 열기",
    other_lang: ("?lang=en", "English"),
    platforms: [
        (
            "Android",
            &[
                "위의 “CA 인증서 내려받기”를 누릅니다.",
                "설정 → 보안 및 개인정보 보호 → 기타 보안 설정 → 암호화 및 사용자 인증 정보 → 인증서 설치 → CA 인증서를 엽니다(제조사마다 이름이 조금 다릅니다. 설정에서 “CA 인증서”를 검색하세요).",
                "“무시하고 설치”를 누르고 내려받은 cradle-hub-ca.crt를 고릅니다.",
                "이제 Chrome이 인증서를 신뢰합니다. 경고가 계속 보이면 Chrome을 다시 시작하세요.",
            ],
        ),
        (
            "iPhone 및 iPad",
            &[
                "Safari에서 이 페이지를 열고 “CA 인증서 내려받기”를 누른 뒤 구성 프로파일 다운로드를 허용합니다.",
                "설정 → 일반 → VPN 및 기기 관리에서 “Cradle Hub local CA” 프로파일을 누르고 설치를 누릅니다.",
                "설정 → 일반 → 정보 → 인증서 신뢰 설정에서 “Cradle Hub local CA”의 전체 신뢰를 켭니다.",
            ],
        ),
        (
            "macOS",
            &[
                "인증서를 내려받아 두 번 클릭하면 키체인 접근이 키체인에 추가합니다.",
                "키체인 접근에서 “Cradle Hub local CA”를 두 번 클릭하고 신뢰 항목의 “이 인증서 사용 시”를 “항상 신뢰”로 바꾼 뒤, 창을 닫고 암호로 확인합니다.",
                "Firefox는 목록이 따로 있습니다: 설정 → 개인 정보 및 보안 → 인증서 → 인증서 보기 → 인증 기관 → 가져오기.",
            ],
        ),
        (
            "Windows",
            &[
                "인증서를 내려받아 두 번 클릭하고 “인증서 설치”를 고릅니다.",
                "“현재 사용자”를 고르고 “모든 인증서를 다음 저장소에 저장” → 찾아보기 → “신뢰할 수 있는 루트 인증 기관” → 다음 → 마침을 누릅니다. 지문을 확인한 뒤 경고를 승인합니다.",
                "브라우저를 다시 시작합니다. Firefox: 설정 → 인증서 → 인증서 보기 → 인증 기관에서 가져옵니다.",
            ],
        ),
        (
            "Linux",
            &[
                "Debian·Ubuntu: sudo cp cradle-hub-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates",
                "Fedora: sudo cp cradle-hub-ca.crt /etc/pki/ca-trust/source/anchors/ && sudo update-ca-trust",
                "Chrome·Chromium(패키지 libnss3-tools): certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n \"Cradle Hub local CA\" -i cradle-hub-ca.crt",
                "Firefox: 설정 → 개인 정보 및 보안 → 인증서 → 인증서 보기 → 인증 기관 → 가져오기.",
            ],
        ),
    ],
};

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(lang: Lang, fingerprint: &str) -> String {
    let t = match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    };
    let mut sections = String::new();
    for (name, steps) in &t.platforms {
        sections.push_str(&format!(
            "<section class=\"card\"><h2>{}</h2><ol class=\"steps\">",
            escape(name)
        ));
        for step in *steps {
            sections.push_str(&format!("<li>{}</li>", escape(step)));
        }
        sections.push_str("</ol></section>\n");
    }
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>{title} · Cradle Hub</title>
  <link rel="stylesheet" href="/css/app.css">
</head>
<body>
<main class="main" id="ca-page">
  <p class="lang-switch"><a class="link" href="/ca{other_href}">{other_name}</a></p>
  <h1 class="screen-title">{title}</h1>
  <p class="lead">{lead}</p>
  <section class="card">
    <p><a class="btn" id="ca-download" href="/ca.crt" download="cradle-hub-ca.crt">{download}</a></p>
    <h2>{fp_label}</h2>
    <p class="mono" id="ca-fingerprint">{fingerprint}</p>
    <p class="hint">{check}</p>
  </section>
{sections}  <p>{then} <a class="link" href="/">{open}</a></p>
</main>
</body>
</html>
"#,
        lang = t.lang,
        title = escape(t.title),
        other_href = escape(t.other_lang.0),
        other_name = escape(t.other_lang.1),
        lead = escape(t.lead),
        download = escape(t.download),
        fp_label = escape(t.fingerprint),
        fingerprint = escape(fingerprint),
        check = escape(t.check),
        then = escape(t.then),
        open = escape(t.open),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_grouped() {
        assert_eq!(fingerprint("0a1bff"), "0A:1B:FF");
    }

    #[test]
    fn both_languages_have_every_platform_and_no_script() {
        for lang in [Lang::En, Lang::Ko] {
            let html = page(lang, "AB:CD");
            assert!(html.contains("AB:CD"));
            assert!(!html.contains("<script"));
            for p in ["Android", "iPhone", "macOS", "Windows", "Linux"] {
                assert!(html.contains(p), "{p} in {lang:?}");
            }
        }
        assert!(page(Lang::Ko, "x").contains("lang=\"ko\""));
    }
}
