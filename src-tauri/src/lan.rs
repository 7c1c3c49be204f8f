//! Hubs on the LAN, for the start page to list: every hub advertises
//! `_cradle-hub._tcp` over mDNS (see `cradle_hub::discovery`), so a parent
//! picks one by name instead of typing its address.
//!
//! Browsing starts when the start page first asks and goes on in the
//! background (mdns-sd's thread, queries backing off to one an hour). What
//! the LAN says is not trusted: the listing's address is built from the
//! resolved IP and port only, and choosing a listed hub goes through
//! `set_mode` like a typed address, so a TLS hub's CA is still pinned from
//! its QR code or confirmed by the parent.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use cradle_hub::discovery::{HUB_SERVICE, txt};
use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent};
use parking_lot::Mutex;
use serde::Serialize;

/// A hub found on the LAN, as the start page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanHub {
    pub name: String,
    /// The address to connect to: `http://192.168.1.20:8080`, or `https://…`
    /// for a hub with HTTPS on.
    pub url: String,
    pub version: Option<String>,
}

/// Names are one DNS label at most; TXT values could be longer.
const NAME_MAX_CHARS: usize = 63;

/// The listing for a resolved `_cradle-hub._tcp` service, if it has an
/// address a browser can use.
pub fn listing(service: &ResolvedService) -> Option<LanHub> {
    let ips: Vec<IpAddr> = service
        .get_addresses()
        .iter()
        .map(|scoped| scoped.to_ip_addr())
        .collect();
    let ip = best_address(&ips)?;
    let scheme = match service.get_property_val_str(txt::SCHEME) {
        Some("https") => "https",
        _ => "http",
    };
    let instance = service
        .get_fullname()
        .strip_suffix(HUB_SERVICE)
        .and_then(|i| i.strip_suffix('.'))
        .unwrap_or(service.get_fullname());
    let name = service
        .get_property_val_str(txt::NAME)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(instance);
    Some(LanHub {
        name: name.chars().take(NAME_MAX_CHARS).collect(),
        url: format!("{scheme}://{}", SocketAddr::new(ip, service.get_port())),
        version: service
            .get_property_val_str(txt::VERSION)
            .map(|v| v.chars().take(NAME_MAX_CHARS).collect()),
    })
}

/// The address other screens use: a LAN IPv4 address first, then a
/// routable IPv6 one. IPv6 link-local needs a scope a URL cannot carry to
/// the window, and loopback is this computer only: used when nothing else is.
fn best_address(ips: &[IpAddr]) -> Option<IpAddr> {
    let rank = |ip: &IpAddr| -> Option<u8> {
        Some(match ip {
            IpAddr::V4(v4) if v4.is_loopback() => 4,
            IpAddr::V4(v4) if v4.is_link_local() => 1,
            IpAddr::V4(_) => 0,
            IpAddr::V6(v6) if v6.is_unicast_link_local() => return None,
            IpAddr::V6(v6) if v6.is_loopback() => 5,
            IpAddr::V6(_) => 2,
        })
    };
    ips.iter()
        .filter_map(|ip| Some((rank(ip)?, *ip)))
        .min()
        .map(|(_, ip)| ip)
}

/// The hubs seen so far, updated by mdns-sd's events.
pub struct Finder {
    daemon: ServiceDaemon,
    hubs: Arc<Mutex<BTreeMap<String, LanHub>>>,
}

impl Finder {
    pub fn start() -> Result<Finder, String> {
        let daemon = ServiceDaemon::new().map_err(|e| format!("mDNS: {e}"))?;
        let events = daemon
            .browse(HUB_SERVICE)
            .map_err(|e| format!("mDNS: {e}"))?;
        let hubs = Arc::new(Mutex::new(BTreeMap::new()));
        let seen = hubs.clone();
        std::thread::Builder::new()
            .name("lan-hubs".into())
            .spawn(move || {
                // Ends when the daemon stops (its channel closes).
                while let Ok(event) = events.recv() {
                    apply(&mut seen.lock(), event);
                }
            })
            .map_err(|e| format!("mDNS: {e}"))?;
        tracing::info!("lan: looking for hubs ({HUB_SERVICE})");
        Ok(Finder { daemon, hubs })
    }

    /// Sorted by name.
    pub fn hubs(&self) -> Vec<LanHub> {
        let mut hubs: Vec<LanHub> = self.hubs.lock().values().cloned().collect();
        hubs.sort_by(|a, b| (&a.name, &a.url).cmp(&(&b.name, &b.url)));
        hubs
    }
}

impl Drop for Finder {
    fn drop(&mut self) {
        // Its thread ends with it; nothing to wait for.
        let _ = self.daemon.shutdown();
    }
}

fn apply(hubs: &mut BTreeMap<String, LanHub>, event: ServiceEvent) {
    match event {
        ServiceEvent::ServiceResolved(service) => match listing(&service) {
            Some(hub) => {
                if hubs.get(service.get_fullname()) != Some(&hub) {
                    tracing::info!(name = %hub.name, url = %hub.url, "lan: hub found");
                }
                hubs.insert(service.get_fullname().to_owned(), hub);
            }
            None => {
                tracing::debug!(service = %service.get_fullname(), "lan: a hub without a usable address")
            }
        },
        ServiceEvent::ServiceRemoved(_, fullname) => {
            if let Some(hub) = hubs.remove(&fullname) {
                tracing::info!(name = %hub.name, "lan: hub gone");
            }
        }
        _ => {}
    }
}

/// The app's browser, started on the first request. mDNS can be turned
/// off like the hub's (`CRADLE_HUB_NO_MDNS`, `mdns = false`).
pub struct Lan {
    enabled: bool,
    finder: OnceLock<Result<Finder, String>>,
}

impl Lan {
    pub fn new(enabled: bool) -> Lan {
        Lan {
            enabled,
            finder: OnceLock::new(),
        }
    }

    pub fn hubs(&self) -> Result<Vec<LanHub>, String> {
        if !self.enabled {
            return Err("mDNS is off (CRADLE_HUB_NO_MDNS or mdns = false)".to_owned());
        }
        match self.finder.get_or_init(|| {
            Finder::start().inspect_err(|e| tracing::warn!(error = %e, "lan: cannot look for hubs"))
        }) {
            Ok(finder) => Ok(finder.hubs()),
            Err(e) => Err(e.clone()),
        }
    }
}

#[cfg(test)]
#[path = "../../hub/tests/it/netns.rs"]
mod netns;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().expect("ip")).collect()
    }

    #[test]
    fn the_lan_address_is_preferred() {
        let best = |list: &[&str]| best_address(&ips(list)).map(|ip| ip.to_string());
        assert_eq!(
            best(&["127.0.0.1", "fe80::1", "fd00::2", "192.168.1.20"]).as_deref(),
            Some("192.168.1.20")
        );
        assert_eq!(best(&["fe80::1", "fd00::2"]).as_deref(), Some("fd00::2"));
        assert_eq!(best(&["127.0.0.1"]).as_deref(), Some("127.0.0.1"));
        assert_eq!(best(&["fe80::1"]), None);
        assert_eq!(best(&[]), None);
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    }

    struct Started {
        port: u16,
        ca_sha256: String,
    }

    /// A real hub with HTTPS on, advertising on a LAN of the test's own:
    /// the start page's list shows it by name with its https address; that
    /// address, as `set_mode` uses it, still asks to confirm the hub's CA
    /// (mDNS vouches for nothing); once the hub stops it leaves the list.
    #[test]
    fn a_hub_on_the_lan_is_listed_and_its_listing_leads_to_it() {
        let (started_tx, started) = std::sync::mpsc::channel::<Started>();
        let (listed_tx, listed) = tokio::sync::oneshot::channel::<()>();
        netns::two_hosts(
            move || {
                runtime().block_on(async move {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let mut settings = cradle_hub::config::Settings::ephemeral(dir.path());
                    settings.mdns = true;
                    settings.name = Some("Nursery".to_owned());
                    settings.tls = cradle_hub::config::TlsMode::SelfSigned;
                    settings.http_addr = SocketAddr::from(([0, 0, 0, 0], 0));
                    settings.mqtt = cradle_hub::config::MqttMode::Endpoint {
                        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
                    };
                    let hub = cradle_hub::start(settings).await.expect("hub starts");
                    let ca_sha256 = hub
                        .state
                        .tls
                        .as_ref()
                        .and_then(|t| t.ca_sha256())
                        .expect("a self-signed hub has a CA")
                        .to_owned();
                    started_tx
                        .send(Started {
                            port: hub.http_addr.port(),
                            ca_sha256,
                        })
                        .expect("the app's side waits");
                    let _ = listed.await;
                    hub.shutdown().await;
                });
            },
            move || {
                let lan = Lan::new(true);
                let hub = started
                    .recv_timeout(Duration::from_secs(30))
                    .expect("the hub started (see its panic)");
                let found = until("the hub in the list", || {
                    lan.hubs()
                        .expect("browsing")
                        .into_iter()
                        .find(|h| h.name == "Nursery")
                });
                assert_eq!(found.url, format!("https://{}:{}", netns::HUB_IP, hub.port));
                assert!(found.version.is_some(), "{found:?}");
                let chosen = crate::mode::parse_hub_address(&found.url).expect("address");
                let answer = runtime().block_on(crate::remote::discover(&chosen.url, None));
                match answer {
                    Ok(crate::remote::Found::Confirm { base, ca_sha256 }) => {
                        assert_eq!(base, found.url);
                        assert_eq!(ca_sha256, hub.ca_sha256);
                    }
                    other => panic!("a listed TLS hub must be confirmed first: {other:?}"),
                }
                listed_tx.send(()).expect("the hub waits to stop");
                until("the hub to leave the list", || {
                    lan.hubs().expect("browsing").is_empty().then_some(())
                });
            },
        );
    }

    fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(found) = check() {
                return found;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
