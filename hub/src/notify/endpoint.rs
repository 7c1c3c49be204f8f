//! The SSRF guard for push endpoints. A subscription's endpoint is an
//! address the hub will POST to on every alert, and anyone with an account
//! can set one: it must be a push service on the internet, never the hub's
//! own LAN. Checked when a subscription is saved, again before each send (a
//! row may predate the guard), and once more on the addresses its host name
//! resolves to (a public name may point at a private address).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

/// Longest endpoint accepted (real ones are 150-500 characters).
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Which endpoints may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointPolicy {
    /// `https://` on a public DNS name, port 443: what browsers hand out.
    PublicHttps,
    /// Also plain `http://`, any port and loopback hosts: the integration
    /// tests' local push-service stand-in (hidden test-only switch).
    AllowLoopback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("not a valid URL")]
    Invalid,
    #[error("not https")]
    NotHttps,
    #[error("not a public host name")]
    NotPublic,
    #[error("not port 443")]
    Port,
}

/// Host names that never lead to a push service on the internet: reserved
/// (RFC 2606, 6761, 8375), mDNS and the names routers and companies use
/// inside their networks.
const LOCAL_SUFFIXES: &[&str] = &[
    "localhost",
    "local",
    "internal",
    "lan",
    "home",
    "home.arpa",
    "localdomain",
    "intranet",
    "corp",
    "invalid",
    "test",
    "example",
];

/// The endpoint as a URL if `policy` allows sending to it.
pub fn check(raw: &str, policy: EndpointPolicy) -> Result<Url, EndpointError> {
    if raw.len() > MAX_ENDPOINT_LEN {
        return Err(EndpointError::Invalid);
    }
    let url = Url::parse(raw).map_err(|_| EndpointError::Invalid)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::Invalid);
    }
    let loopback_ok = policy == EndpointPolicy::AllowLoopback;
    match url.scheme() {
        "https" => {}
        "http" if loopback_ok => {}
        _ => return Err(EndpointError::NotHttps),
    }
    match url.host() {
        None => return Err(EndpointError::Invalid),
        Some(Host::Ipv4(ip)) if !(loopback_ok && ip.is_loopback()) => {
            return Err(EndpointError::NotPublic);
        }
        Some(Host::Ipv6(ip)) if !(loopback_ok && ip.is_loopback()) => {
            return Err(EndpointError::NotPublic);
        }
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {}
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let allowed = is_public_name(&name) || (loopback_ok && name == "localhost");
            if !allowed {
                return Err(EndpointError::NotPublic);
            }
        }
    }
    // `Url` drops the scheme's default port: `port()` is `Some` only for
    // another one.
    if url.port().is_some() && !loopback_ok {
        return Err(EndpointError::Port);
    }
    Ok(url)
}

/// A DNS name with at least two labels, outside the local suffixes.
fn is_public_name(name: &str) -> bool {
    // A single label is resolved through the LAN's search domain.
    if !name.contains('.') || name.split('.').any(str::is_empty) {
        return false;
    }
    !LOCAL_SUFFIXES
        .iter()
        .any(|s| name == *s || name.ends_with(&format!(".{s}")))
}

/// `scheme://host[:port]` of the endpoint: a VAPID token's audience.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether an address is on the internet: not loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast or reserved.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (embeds IPv4)
                || s[..6] == [0; 6]) // IPv4-compatible and other reserved
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// DNS for the push client: only public addresses are returned, so a
/// public name pointing into the LAN fails like an unknown one. With
/// [`EndpointPolicy::AllowLoopback`] loopback addresses pass too.
pub struct PublicOnlyResolver {
    pub policy: EndpointPolicy,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let loopback_ok = self.policy == EndpointPolicy::AllowLoopback;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public_ip(a.ip()) || (loopback_ok && a.ip().is_loopback()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use EndpointError::*;
    use EndpointPolicy::*;

    #[test]
    fn real_push_services_pass() {
        for url in [
            "https://fcm.googleapis.com/fcm/send/abc:def",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
            "https://web.push.apple.com/QGuMmSBr",
            "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD",
            "https://fcm.googleapis.com:443/fcm/send/x",
            "https://FCM.googleapis.com./fcm/send/x",
        ] {
            assert!(check(url, PublicHttps).is_ok(), "{url}");
        }
    }

    #[test]
    fn lan_and_loopback_endpoints_are_refused() {
        for (url, why) in [
            ("http://fcm.googleapis.com/fcm/send/x", NotHttps),
            ("ftp://fcm.googleapis.com/x", NotHttps),
            ("http://127.0.0.1/push", NotHttps),
            ("https://127.0.0.1/push", NotPublic),
            ("https://10.0.0.1/push", NotPublic),
            ("https://192.168.1.20/push", NotPublic),
            ("https://0x7f.1/push", NotPublic),
            ("https://2130706433/push", NotPublic),
            ("https://[::1]/push", NotPublic),
            ("https://[fd00::1]/push", NotPublic),
            ("https://8.8.8.8/push", NotPublic),
            ("https://localhost/push", NotPublic),
            ("https://LOCALHOST./push", NotPublic),
            ("https://hub.localhost/push", NotPublic),
            ("https://printer.local/push", NotPublic),
            (
                "https://metadata.google.internal/computeMetadata",
                NotPublic,
            ),
            ("https://router.lan/", NotPublic),
            ("https://nas.home.arpa/", NotPublic),
            ("https://intranet/push", NotPublic),
            ("https://fcm.googleapis.com:8443/fcm/send/x", Port),
            ("https://user:pw@fcm.googleapis.com/fcm/send/x", Invalid),
            ("not a url", Invalid),
            ("https://", Invalid),
            // Extra slashes are skipped: the host is the single label "nohost".
            ("https:///nohost", NotPublic),
        ] {
            assert_eq!(check(url, PublicHttps).map(|_| ()), Err(why), "{url}");
        }
        assert!(check("https://a..example.org/", PublicHttps).is_err());
        let long = format!(
            "https://fcm.googleapis.com/{}",
            "x".repeat(MAX_ENDPOINT_LEN)
        );
        assert_eq!(check(&long, PublicHttps).map(|_| ()), Err(Invalid));
    }

    #[test]
    fn the_test_switch_allows_loopback_only() {
        for url in [
            "http://127.0.0.1:4000/push/a",
            "http://[::1]:4000/push/a",
            "http://localhost:4000/push/a",
            "https://fcm.googleapis.com:8443/x",
        ] {
            assert!(check(url, AllowLoopback).is_ok(), "{url}");
        }
        for url in [
            "https://10.0.0.1/push",
            "http://192.168.1.2:80/",
            "ftp://127.0.0.1/",
        ] {
            assert!(check(url, AllowLoopback).is_err(), "{url}");
        }
    }

    #[test]
    fn the_origin_keeps_a_port_other_than_the_default() {
        let url = check("http://127.0.0.1:4000/push/a", AllowLoopback).unwrap();
        assert_eq!(origin(&url), "http://127.0.0.1:4000");
        let url = check("https://fcm.googleapis.com:443/fcm/send/x", PublicHttps).unwrap();
        assert_eq!(origin(&url), "https://fcm.googleapis.com");
    }

    #[test]
    fn only_internet_addresses_are_public() {
        for ip in [
            "8.8.8.8",
            "142.250.74.106",
            "2a00:1450:4001:82b::200a",
            "2606:4700::1111",
        ] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.10",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "203.0.113.5",
            "224.0.0.251",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "fe80::1",
            "fd12:3456::1",
            "ff02::fb",
            "2001:db8::1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        assert!(!is_public_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        let strict = PublicOnlyResolver {
            policy: PublicHttps,
        };
        let name: Name = "localhost".parse().unwrap();
        assert!(strict.resolve(name).await.is_err());
        let relaxed = PublicOnlyResolver {
            policy: AllowLoopback,
        };
        let name: Name = "localhost".parse().unwrap();
        let addrs: Vec<SocketAddr> = relaxed.resolve(name).await.unwrap().collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
