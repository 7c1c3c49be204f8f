//! The few pieces of PROTOCOL.md and API.md the tools need, written here so
//! the tools depend on the wire contract only, never on the hub's code.

use time::OffsetDateTime;
use time::macros::format_description;

/// The topic a cradle listens on for rocking commands.
pub fn servo_topic(uuid: &str) -> String {
    format!("cradle/{uuid}/servo")
}

#[derive(Debug, thiserror::Error)]
#[error("invalid MQTT broker address {0:?}: expected mqtt://host:port")]
pub struct BadMqttUrl(pub String);

/// Accepts `mqtt://host:port`, `tcp://host:port`, `host:port` or `host`
/// (port 1883), the same forms the hub accepts for its broker.
pub fn parse_mqtt_url(url: &str) -> Result<(String, u16), BadMqttUrl> {
    let bad = || BadMqttUrl(url.to_owned());
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .unwrap_or(url)
        .trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || rest.contains('@') {
        return Err(bad());
    }
    // An IPv6 literal is written in brackets: [::1]:1883
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = after
            .strip_prefix(':')
            .map(str::parse::<u16>)
            .transpose()
            .map_err(|_| bad())?;
        (host.to_owned(), port)
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                Some(port.parse::<u16>().map_err(|_| bad())?),
            ),
            None => (rest.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host, port.unwrap_or(1883)))
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// API.md's time format: `2026-11-22T20:56:17.123Z`.
pub fn format_millis(ms: i64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_urls() {
        assert_eq!(
            parse_mqtt_url("mqtt://127.0.0.1:1884").unwrap(),
            ("127.0.0.1".into(), 1884)
        );
        assert_eq!(
            parse_mqtt_url("broker.lan").unwrap(),
            ("broker.lan".into(), 1883)
        );
        assert_eq!(
            parse_mqtt_url("tcp://[::1]:2000").unwrap(),
            ("::1".into(), 2000)
        );
        assert!(parse_mqtt_url("mqtt://host:notaport").is_err());
        assert!(parse_mqtt_url("mqtt://").is_err());
    }

    #[test]
    fn api_time_format() {
        assert_eq!(format_millis(1_795_380_977_123), "2026-11-22T20:56:17.123Z");
        assert_eq!(servo_topic("c-1"), "cradle/c-1/servo");
    }
}
