//! Found on the LAN: the hub advertises itself over mDNS/DNS-SD, so apps
//! list it by name instead of asking for an IP address.
//!
//! - [`HUB_SERVICE`] (`_cradle-hub._tcp`) on the HTTP port, with the TXT keys
//!   of [`hub_txt`]: enough to build the hub's URL.
//! - [`MQTT_SERVICE`] (`_mqtt._tcp`) on the hub's own MQTT endpoint; not with
//!   an external broker, which is someone else's to advertise.
//!
//! Each service is advertised only where it can be reached: a listener on
//! `0.0.0.0` on every IPv4 address, on `[::]` on every address, on one
//! address on that address alone, and on loopback not at all (nobody else
//! can connect to it, and a hub that advertises nothing never touches
//! multicast). `mdns-sd` answers and re-announces on its own thread and
//! follows interfaces that come and go (Wi-Fi joining after the hub
//! started). Failures are logged once and never stop the hub.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

use mdns_sd::{DaemonEvent, DaemonStatus, IfKind, ServiceDaemon, ServiceInfo, UnregisterStatus};
use tokio::task::JoinHandle;

use crate::config::{Settings, TlsMode};

/// The hub's web UI and REST API.
pub const HUB_SERVICE: &str = "_cradle-hub._tcp.local.";
/// The hub's own MQTT endpoint, for cradles.
pub const MQTT_SERVICE: &str = "_mqtt._tcp.local.";

/// TXT keys of [`HUB_SERVICE`] (see [`hub_txt`]).
pub mod txt {
    /// Version of this TXT layout (RFC 6763 §6.7): `1`.
    pub const TXTVERS: &str = "txtvers";
    /// The hub's version, e.g. `0.1.0`.
    pub const VERSION: &str = "version";
    /// The hub's name (the instance name, unescaped).
    pub const NAME: &str = "name";
    /// `http`, or `https` when HTTPS is on (the same port then redirects plain
    /// HTTP from the LAN to https).
    pub const SCHEME: &str = "scheme";
    /// Where the UI is: `/`. The URL is `<scheme>://<address>:<port><path>`.
    pub const PATH: &str = "path";
}

/// Longest instance name: one DNS label (RFC 6763 §4.1.1).
const INSTANCE_NAME_MAX: usize = 63;

/// How long shutdown waits for the goodbye: the daemon sends it at once
/// and repeats it after 120 ms.
const GOODBYE_REPEAT: Duration = Duration::from_millis(150);
const DAEMON_ANSWER: Duration = Duration::from_millis(300);

/// Where a listener can be reached from, so where it is advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Loopback: this machine only. Not advertised.
    ThisMachine,
    /// `0.0.0.0`: every IPv4 address of every interface.
    EveryIpv4,
    /// `[::]` (dual stack): every address of every interface.
    Every,
    /// One address, advertised on its interface only.
    Only(IpAddr),
}

impl Reach {
    pub fn of(listen: IpAddr) -> Reach {
        match listen {
            ip if ip.is_loopback() => Reach::ThisMachine,
            IpAddr::V4(v4) if v4.is_unspecified() => Reach::EveryIpv4,
            IpAddr::V6(v6) if v6.is_unspecified() => Reach::Every,
            ip => Reach::Only(ip),
        }
    }

    fn interfaces(self) -> Option<IfKind> {
        match self {
            Reach::ThisMachine => None,
            Reach::EveryIpv4 => Some(IfKind::IPv4),
            Reach::Every => Some(IfKind::All),
            Reach::Only(ip) => Some(IfKind::Addr(ip)),
        }
    }
}

/// One service to advertise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub service_type: &'static str,
    pub port: u16,
    pub reach: Reach,
    pub txt: Vec<(&'static str, String)>,
}

/// What the hub advertises (plain data: decided without touching the network).
pub fn plan(
    settings: &Settings,
    http_addr: SocketAddr,
    mqtt_endpoint: Option<SocketAddr>,
    instance: &str,
) -> Vec<Advert> {
    if !settings.mdns {
        return Vec::new();
    }
    let mut adverts = vec![Advert {
        service_type: HUB_SERVICE,
        port: http_addr.port(),
        reach: Reach::of(http_addr.ip()),
        txt: hub_txt(instance, settings.tls != TlsMode::Off),
    }];
    if let Some(mqtt) = mqtt_endpoint {
        adverts.push(Advert {
            service_type: MQTT_SERVICE,
            port: mqtt.port(),
            reach: Reach::of(mqtt.ip()),
            txt: vec![
                (txt::TXTVERS, "1".to_owned()),
                (txt::VERSION, env!("CARGO_PKG_VERSION").to_owned()),
            ],
        });
    }
    adverts.retain(|a| a.reach != Reach::ThisMachine);
    adverts
}

/// The TXT record of [`HUB_SERVICE`].
pub fn hub_txt(instance: &str, https: bool) -> Vec<(&'static str, String)> {
    vec![
        (txt::TXTVERS, "1".to_owned()),
        (txt::VERSION, env!("CARGO_PKG_VERSION").to_owned()),
        (txt::NAME, instance.to_owned()),
        (txt::SCHEME, if https { "https" } else { "http" }.to_owned()),
        (txt::PATH, "/".to_owned()),
    ]
}

/// `--name`, else "Cradle Hub on <hostname>"; at most one DNS label long.
pub fn instance_name(configured: Option<&str>, hostname: &str) -> String {
    let host = hostname.split('.').next().unwrap_or_default().trim();
    let name = match configured.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None if host.is_empty() => "Cradle Hub".to_owned(),
        None => format!("Cradle Hub on {host}"),
    };
    let mut end = name.len().min(INSTANCE_NAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].trim_end().to_owned()
}

/// The name the services' address records go by: `<hostname>.local.`, the
/// name the self-signed certificate carries too.
fn host_name(hostname: &str) -> String {
    let local = crate::tls::ca::mdns_name(hostname).unwrap_or_else(|| "cradle-hub.local".into());
    format!("{local}.")
}

/// The hub's services, advertised until [`Advertiser::withdraw`].
pub struct Advertiser {
    daemon: ServiceDaemon,
    fullnames: Vec<String>,
}

impl Advertiser {
    /// Starts advertising what [`plan`] says; `None` when there is nothing
    /// to advertise or mDNS cannot start (logged). Never blocks: the daemon
    /// works on its own thread.
    pub fn start(
        settings: &Settings,
        http_addr: SocketAddr,
        mqtt_endpoint: Option<SocketAddr>,
    ) -> Option<Advertiser> {
        if !settings.mdns {
            tracing::info!("mdns: off; the hub is not advertised on the LAN");
            return None;
        }
        let hostname = gethostname::gethostname().to_string_lossy().into_owned();
        let instance = instance_name(settings.name.as_deref(), &hostname);
        let adverts = plan(settings, http_addr, mqtt_endpoint, &instance);
        if adverts.is_empty() {
            tracing::info!("mdns: the hub listens on loopback only; not advertised on the LAN");
            return None;
        }
        let daemon = match ServiceDaemon::new() {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "mdns: cannot start; the hub is not advertised on the LAN");
                return None;
            }
        };
        match daemon.monitor() {
            Ok(events) => {
                let spawned = thread::Builder::new()
                    .name("mdns-monitor".into())
                    .spawn(move || log_events(events));
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "mdns: no thread to report its errors");
                }
            }
            Err(e) => tracing::warn!(error = %e, "mdns: no report of its errors"),
        }
        // Answer and announce only where some service is reachable.
        let interfaces: Vec<IfKind> = adverts
            .iter()
            .filter_map(|a| a.reach.interfaces())
            .collect();
        if let Err(e) = daemon
            .disable_interface(IfKind::All)
            .and_then(|()| daemon.enable_interface(interfaces))
        {
            tracing::warn!(error = %e, "mdns: cannot choose the interfaces");
        }
        let host = host_name(&hostname);
        let mut fullnames = Vec::new();
        for advert in adverts {
            match register(&daemon, &instance, &host, &advert) {
                Ok(fullname) => {
                    tracing::info!(service = %fullname, port = advert.port, reach = ?advert.reach, "mdns: advertising");
                    fullnames.push(fullname);
                }
                Err(e) => tracing::warn!(
                    service = advert.service_type,
                    error = %e,
                    "mdns: cannot advertise"
                ),
            }
        }
        Some(Advertiser { daemon, fullnames })
    }

    /// Says goodbye on the LAN (so browsers drop the hub at once rather than
    /// when their cache expires) and stops the daemon. Runs on a blocking
    /// thread; await the handle within the shutdown budget (≈ 0.2 s).
    pub fn withdraw(self) -> JoinHandle<()> {
        tokio::task::spawn_blocking(move || {
            for fullname in &self.fullnames {
                match answer(self.daemon.unregister(fullname)) {
                    Ok(UnregisterStatus::OK) => {}
                    Ok(UnregisterStatus::NotFound) => {
                        tracing::debug!(service = %fullname, "mdns: was not advertised")
                    }
                    Err(error) => tracing::warn!(service = %fullname, %error, "mdns: no goodbye"),
                }
            }
            if !self.fullnames.is_empty() {
                thread::sleep(GOODBYE_REPEAT);
            }
            match answer(self.daemon.shutdown()) {
                Ok(DaemonStatus::Shutdown) => tracing::debug!("mdns: stopped"),
                Ok(status) => tracing::warn!(?status, "mdns: did not stop"),
                Err(error) => tracing::warn!(%error, "mdns: cannot stop"),
            }
        })
    }
}

/// The daemon's answer to a command, if it comes in time.
fn answer<T>(sent: mdns_sd::Result<mdns_sd::Receiver<T>>) -> Result<T, String> {
    let answers = sent.map_err(|e| e.to_string())?;
    answers
        .recv_timeout(DAEMON_ANSWER)
        .map_err(|e| e.to_string())
}

fn register(
    daemon: &ServiceDaemon,
    instance: &str,
    host: &str,
    advert: &Advert,
) -> Result<String, mdns_sd::Error> {
    let txt: Vec<(&str, &str)> = advert.txt.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // One address: that one. Every address: the daemon fills in each
    // interface's own (and follows them as they change).
    let (ips, interfaces) = match advert.reach {
        Reach::Only(ip) => (vec![ip], vec![IfKind::Addr(ip)]),
        reach => (Vec::new(), reach.interfaces().into_iter().collect()),
    };
    let mut info = ServiceInfo::new(
        advert.service_type,
        instance,
        host,
        &ips[..],
        advert.port,
        &txt[..],
    )?;
    if ips.is_empty() {
        info = info.enable_addr_auto();
    }
    info.set_interfaces(interfaces);
    let fullname = info.get_fullname().to_owned();
    daemon.register(info)?;
    Ok(fullname)
}

/// The daemon's reports, until it stops: the first error as a warning
/// (typically no multicast on any interface), later ones quietly.
fn log_events(events: mdns_sd::Receiver<DaemonEvent>) {
    let mut warned = false;
    let mut announced = false;
    while let Ok(event) = events.recv() {
        match event {
            DaemonEvent::Error(e) if !warned => {
                warned = true;
                tracing::warn!(error = %e, "mdns: the hub may not be found on the LAN (further mDNS errors are logged at debug level)");
            }
            DaemonEvent::Error(e) => tracing::debug!(error = %e, "mdns: error"),
            DaemonEvent::Announce(service, on) if !announced => {
                announced = true;
                tracing::info!(%service, %on, "mdns: announced on the LAN");
            }
            DaemonEvent::NameChange(change) => tracing::info!(
                original = %change.original,
                now = %change.new_name,
                interface = %change.intf_name,
                "mdns: the name is taken on the LAN; advertised under another"
            ),
            other => tracing::debug!(event = ?other, "mdns"),
        }
    }
}

/// The source address of a route to a public address (a UDP connect sends
/// no packet): the hub's address as phones on the LAN reach it.
pub fn primary_lan_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:80").ok()?;
    socket
        .local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let mut s = Settings::ephemeral("/nonexistent");
        s.mdns = true;
        s
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn each_service_is_advertised_where_it_listens() {
        let adverts = plan(
            &settings(),
            addr("0.0.0.0:8080"),
            Some(addr("[::]:1883")),
            "Nursery",
        );
        assert_eq!(adverts.len(), 2);
        assert_eq!(
            (adverts[0].service_type, adverts[0].port, adverts[0].reach),
            (HUB_SERVICE, 8080, Reach::EveryIpv4)
        );
        assert_eq!(
            (adverts[1].service_type, adverts[1].port, adverts[1].reach),
            (MQTT_SERVICE, 1883, Reach::Every)
        );
        let one = plan(&settings(), addr("192.168.1.20:8080"), None, "Nursery");
        assert_eq!(one.len(), 1, "an external broker is not ours to advertise");
        assert_eq!(
            one[0].reach,
            Reach::Only("192.168.1.20".parse().expect("ip"))
        );
    }

    #[test]
    fn loopback_and_off_advertise_nothing() {
        assert!(
            plan(
                &settings(),
                addr("127.0.0.1:8080"),
                Some(addr("[::1]:1883")),
                "x"
            )
            .is_empty()
        );
        let lan_mqtt_only = plan(
            &settings(),
            addr("127.0.0.1:8080"),
            Some(addr("0.0.0.0:1883")),
            "x",
        );
        assert_eq!(lan_mqtt_only.len(), 1);
        assert_eq!(lan_mqtt_only[0].service_type, MQTT_SERVICE);
        let mut off = settings();
        off.mdns = false;
        assert!(plan(&off, addr("0.0.0.0:8080"), Some(addr("0.0.0.0:1883")), "x").is_empty());
    }

    #[test]
    fn the_txt_record_builds_the_url() {
        let mut tls = settings();
        tls.tls = TlsMode::SelfSigned;
        let adverts = plan(&tls, addr("0.0.0.0:8443"), None, "Nursery");
        let get = |key: &str| {
            adverts[0]
                .txt
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get(txt::SCHEME), Some("https"));
        assert_eq!(get(txt::PATH), Some("/"));
        assert_eq!(get(txt::NAME), Some("Nursery"));
        assert_eq!(get(txt::VERSION), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(get(txt::TXTVERS), Some("1"));
        let plain = hub_txt("n", false);
        assert!(plain.contains(&(txt::SCHEME, "http".to_owned())));
    }

    #[test]
    fn instance_names() {
        assert_eq!(
            instance_name(None, "raspberrypi"),
            "Cradle Hub on raspberrypi"
        );
        assert_eq!(instance_name(None, "pi.lan"), "Cradle Hub on pi");
        assert_eq!(instance_name(None, ""), "Cradle Hub");
        assert_eq!(instance_name(Some("  Nursery "), "pi"), "Nursery");
        assert_eq!(instance_name(Some(" "), "pi"), "Cradle Hub on pi");
        // 63 bytes at most, cut on a character boundary.
        let long = instance_name(Some(&"아기".repeat(20)), "pi");
        assert!(long.len() <= INSTANCE_NAME_MAX, "{}", long.len());
        assert!(long.starts_with("아기아기"));
        assert_eq!(host_name("raspberrypi"), "raspberrypi.local.");
        assert_eq!(host_name("bad_host"), "cradle-hub.local.");
    }
}
