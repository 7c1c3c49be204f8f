//! The embedded MQTT broker (rumqttd), so cradles need nothing else installed.

use std::net::{SocketAddr, TcpListener};

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen for MQTT on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid embedded broker configuration: {0}")]
    Config(String),
    #[error("cannot start the broker thread: {0}")]
    Thread(std::io::Error),
}

/// Starts rumqttd on its own thread (it has no shutdown: it lives as long as
/// the process) and returns the address it listens on.
///
/// rumqttd binds inside its own thread and only logs a failure, so the
/// address is probed here first; port 0 is resolved to a concrete free port
/// the same way.
pub fn start(listen: SocketAddr, max_payload: usize) -> Result<SocketAddr, BrokerError> {
    let probe = TcpListener::bind(listen).map_err(|source| BrokerError::Bind {
        addr: listen,
        source,
    })?;
    let addr = probe.local_addr().map_err(|source| BrokerError::Bind {
        addr: listen,
        source,
    })?;
    drop(probe);

    // rumqttd checks its limit against the whole remaining length (topic and
    // headers too), so leave headroom above the largest payload we accept;
    // anything far above it is refused at the broker before it costs memory.
    let broker_limit = max_payload + 16 * 1024;
    // The router keeps segment_size x segment_count per filter even after
    // delivery, and a subscriber that falls further behind than that skips
    // ahead (loses messages). Sensor filters get ~24 MB (~400k readings) so
    // a 200k QoS 1 burst is never skipped over (1 MB lost 23 % of it).
    let toml = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = 200
max_segment_size = 8388608
max_segment_count = 3

# Frames: ~12 MB (~1.5 s of 16 cradles): enough that the hub never skips a
# frame over a scheduling hiccup (0.5 MB lost ~15 % of frames at 16 cradles).
[router.custom_segment."cradle/+/frame"]
max_segment_size = 4194304
max_segment_count = 3

[v4.1]
name = "mqtt-v4"
listen = "{addr}"
next_connection_delay_ms = 1
    [v4.1.connections]
    connection_timeout_ms = 10000
    max_payload_size = {broker_limit}
    max_inflight_count = 200
    dynamic_filters = true
"#
    );
    let config: rumqttd::Config =
        toml::from_str(&toml).map_err(|e| BrokerError::Config(e.to_string()))?;
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "mqtt: embedded broker stopped");
            }
        })
        .map_err(BrokerError::Thread)?;
    Ok(addr)
}
