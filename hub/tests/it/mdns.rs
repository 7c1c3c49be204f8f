//! Found on the LAN: a hub listening on all addresses, as on a Raspberry Pi,
//! is found by an mDNS browser on another host of the LAN (a network
//! namespace of the test's own, see `netns.rs`), reached at the address it
//! advertises, and gone from the browser once it shuts down.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use cradle_hub::config::MqttMode;
use cradle_hub::discovery::{self, HUB_SERVICE, MQTT_SERVICE};
use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent};
use reqwest::StatusCode;
use tokio::sync::oneshot;

use crate::common::TestHub;
use crate::netns;

const NAME: &str = "Nursery hub";
/// Generous: on a loaded CI machine the first answer takes about a second.
const FIND_WITHIN: Duration = Duration::from_secs(15);

struct Ports {
    http: u16,
    mqtt: u16,
}

#[test]
fn a_hub_on_all_addresses_is_found_reached_and_says_goodbye() {
    let (ports_tx, ports_rx) = std::sync::mpsc::channel::<Ports>();
    let (found_tx, found_rx) = oneshot::channel::<()>();
    netns::two_hosts(
        move || {
            let rt = runtime();
            rt.block_on(async move {
                let hub = TestHub::start_with(|s| {
                    s.mdns = true;
                    s.name = Some(NAME.to_owned());
                    s.http_addr = SocketAddr::from(([0, 0, 0, 0], 0));
                    s.mqtt = MqttMode::Endpoint {
                        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
                    };
                })
                .await;
                ports_tx
                    .send(Ports {
                        http: hub.hub.http_addr.port(),
                        mqtt: hub.mqtt_port(),
                    })
                    .expect("the browser's side waits");
                // A dropped sender (the browser's side failed) stops the hub too.
                let _ = found_rx.await;
                let stopping = Instant::now();
                hub.hub.shutdown().await;
                assert!(
                    stopping.elapsed() <= cradle_hub::SHUTDOWN_BUDGET,
                    "the goodbye fits the shutdown budget: {:?}",
                    stopping.elapsed()
                );
            });
        },
        move || {
            let browser = ServiceDaemon::new().expect("mdns browser");
            let hubs = browser.browse(HUB_SERVICE).expect("browse hubs");
            let brokers = browser.browse(MQTT_SERVICE).expect("browse mqtt");
            let ports = ports_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the hub started (see its panic)");

            let hub = resolved(&hubs, HUB_SERVICE);
            assert_eq!(hub.get_port(), ports.http);
            assert_eq!(
                addresses(&hub),
                HashSet::from([netns::HUB_IP.parse::<IpAddr>().expect("ip")]),
                "the LAN address only: no loopback, no IPv6 (the hub listens on 0.0.0.0)"
            );
            let txt = |key| hub.get_property_val_str(key);
            assert_eq!(txt(discovery::txt::TXTVERS), Some("1"));
            assert_eq!(
                txt(discovery::txt::VERSION),
                Some(env!("CARGO_PKG_VERSION"))
            );
            assert_eq!(txt(discovery::txt::NAME), Some(NAME));
            assert_eq!(txt(discovery::txt::SCHEME), Some("http"));
            assert_eq!(txt(discovery::txt::PATH), Some("/"));

            let mqtt = resolved(&brokers, MQTT_SERVICE);
            assert_eq!(mqtt.get_port(), ports.mqtt);
            assert_eq!(addresses(&mqtt), addresses(&hub));

            // What a browser builds from the advertisement reaches the hub.
            let url = format!(
                "{}://{}:{}{}health",
                txt(discovery::txt::SCHEME).unwrap_or_default(),
                netns::HUB_IP,
                hub.get_port(),
                txt(discovery::txt::PATH).unwrap_or_default()
            );
            let status = runtime().block_on(async {
                reqwest::Client::new()
                    .get(&url)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .map(|r| r.status())
            });
            assert_eq!(status.expect("GET /health from the LAN"), StatusCode::OK);

            found_tx.send(()).expect("the hub waits to stop");
            removed(&hubs, hub.get_fullname());
            removed(&brokers, mqtt.get_fullname());
            let _ = browser.shutdown();
        },
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn addresses(service: &ResolvedService) -> HashSet<IpAddr> {
    service
        .get_addresses()
        .iter()
        .map(|scoped| scoped.to_ip_addr())
        .collect()
}

/// The hub named [`NAME`], once resolved (SRV, TXT and addresses).
fn resolved(events: &mdns_sd::Receiver<ServiceEvent>, service: &str) -> ResolvedService {
    let deadline = Instant::now() + FIND_WITHIN;
    let fullname = format!("{NAME}.{service}");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(found)) if found.get_fullname() == fullname => {
                return *found;
            }
            Ok(_) => {}
            Err(e) => panic!("{fullname} not found on the LAN within {FIND_WITHIN:?}: {e}"),
        }
    }
}

/// Waits for the goodbye: browsers drop the hub at once, not when their
/// cache would expire (75 minutes for the TXT record).
fn removed(events: &mdns_sd::Receiver<ServiceEvent>, fullname: &str) {
    let deadline = Instant::now() + FIND_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceRemoved(_, gone)) if gone == fullname => return,
            Ok(_) => {}
            Err(e) => panic!("{fullname} still listed after the hub stopped: {e}"),
        }
    }
}
