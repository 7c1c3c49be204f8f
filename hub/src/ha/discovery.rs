//! Home Assistant's MQTT discovery as plain data: the topics, the retained
//! config documents, the state payloads and the commands Home Assistant
//! sends back. No I/O; [`super::Bridge`] publishes what this builds.
//!
//! Layout (`<node>` is [`node_id`] of the cradle's uuid):
//! - configs: `homeassistant/<component>/<node>/<object>/config`, retained;
//! - states: `cradle-hub/<node>/<object>`, retained;
//! - the rock switch's commands: `cradle-hub/<node>/rock/set`;
//! - the hub's availability: `cradle-hub/status` (`online`, or `offline`
//!   from the hub's last will), retained.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::live::CradleStatus;
use crate::motor::Action;
use crate::readings::Crying;
use crate::timefmt::{Millis, format_millis};

/// Home Assistant's default discovery prefix.
pub const DISCOVERY_PREFIX: &str = "homeassistant";
/// Home Assistant announces itself here (`online`) after it starts.
pub const BIRTH_TOPIC: &str = "homeassistant/status";
/// The root of every topic the hub owns for Home Assistant.
pub const BASE: &str = "cradle-hub";
/// The hub's availability: `online` while connected, `offline` by its last will.
pub const HUB_STATUS_TOPIC: &str = "cradle-hub/status";
pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";
/// What the hub subscribes to for the rock switches.
pub const COMMAND_FILTER: &str = "cradle-hub/+/rock/set";
const ON: &str = "ON";
const OFF: &str = "OFF";
/// Identifies the hub's own device in Home Assistant (the cradles' `via_device`).
pub const HUB_DEVICE_ID: &str = "cradle_hub";

/// One Home Assistant entity of a cradle, or of the hub itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Temperature,
    Crying,
    Face,
    Online,
    Rock,
    Camera,
}

impl Entity {
    pub const ALL: [Entity; 6] = [
        Entity::Temperature,
        Entity::Crying,
        Entity::Face,
        Entity::Online,
        Entity::Rock,
        Entity::Camera,
    ];

    pub fn component(self) -> &'static str {
        match self {
            Entity::Temperature => "sensor",
            Entity::Crying | Entity::Face | Entity::Online => "binary_sensor",
            Entity::Rock => "switch",
            Entity::Camera => "camera",
        }
    }

    pub fn object_id(self) -> &'static str {
        match self {
            Entity::Temperature => "temperature",
            Entity::Crying => "crying",
            Entity::Face => "face",
            Entity::Online => "online",
            Entity::Rock => "rock",
            Entity::Camera => "camera",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Entity::Temperature => "Temperature",
            Entity::Crying => "Crying",
            Entity::Face => "Face detected",
            Entity::Online => "Online",
            Entity::Rock => "Rock",
            Entity::Camera => "Camera",
        }
    }
}

/// A cradle uuid as a topic level and discovery id: `[A-Za-z0-9-]` kept,
/// every other character (`_` included) as `_xx` per UTF-8 byte, so two
/// uuids never share a node id. Typical uuids come out unchanged.
pub fn node_id(uuid: &str) -> String {
    let mut node = String::with_capacity(uuid.len());
    for b in uuid.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            node.push(char::from(b));
        } else {
            let _ = write!(node, "_{b:02x}");
        }
    }
    node
}

pub fn config_topic(node: &str, entity: Entity) -> String {
    format!(
        "{DISCOVERY_PREFIX}/{}/{node}/{}/config",
        entity.component(),
        entity.object_id()
    )
}

pub fn hub_config_topic() -> String {
    format!("{DISCOVERY_PREFIX}/binary_sensor/{HUB_DEVICE_ID}/broker/config")
}

/// Where the entity's state (the camera's JPEG) is published.
pub fn state_topic(node: &str, entity: Entity) -> String {
    format!("{BASE}/{node}/{}", entity.object_id())
}

pub fn command_topic(node: &str) -> String {
    format!("{BASE}/{node}/rock/set")
}

/// The camera's attributes: the signed MJPEG address and when it expires.
pub fn camera_attributes_topic(node: &str) -> String {
    format!("{BASE}/{node}/camera/attributes")
}

/// What the configs say about the hub.
#[derive(Debug, Clone)]
pub struct HubInfo {
    /// Shown as the hub device's name.
    pub name: String,
    pub version: &'static str,
    /// The hub's web UI (the devices' "Visit" link in Home Assistant).
    pub ui_url: String,
}

fn origin(hub: &HubInfo) -> Value {
    json!({ "name": "Cradle Hub", "sw_version": hub.version })
}

fn hub_device(hub: &HubInfo) -> Value {
    json!({
        "identifiers": [HUB_DEVICE_ID],
        "name": hub.name,
        "manufacturer": "Cradle Hub",
        "model": "Cradle Hub",
        "sw_version": hub.version,
        "configuration_url": hub.ui_url,
    })
}

/// The hub's own entity: whether it is connected to the broker. It has no
/// availability of its own, so it reads "disconnected" rather than
/// "unavailable" when the hub's last will fires.
pub fn hub_config(hub: &HubInfo) -> Value {
    json!({
        "name": "Broker connection",
        "unique_id": format!("{HUB_DEVICE_ID}_broker"),
        "state_topic": HUB_STATUS_TOPIC,
        "payload_on": ONLINE,
        "payload_off": OFFLINE,
        "device_class": "connectivity",
        "entity_category": "diagnostic",
        "device": hub_device(hub),
        "origin": origin(hub),
    })
}

/// The retained discovery config of one of a cradle's entities.
pub fn config(uuid: &str, entity: Entity, hub: &HubInfo) -> Value {
    let node = node_id(uuid);
    let hub_available = json!({ "topic": HUB_STATUS_TOPIC });
    let cradle_available = json!({
        "topic": state_topic(&node, Entity::Online),
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
    });
    // The online sensor itself stays available while the hub is, so it can
    // say "disconnected"; everything else also needs the cradle.
    let availability = if entity == Entity::Online {
        json!([hub_available])
    } else {
        json!([hub_available, cradle_available])
    };
    let short: String = uuid.chars().take(8).collect();
    let mut c = json!({
        "name": entity.name(),
        "unique_id": format!("cradle_hub_{node}_{}", entity.object_id()),
        "availability": availability,
        "availability_mode": "all",
        "device": {
            "identifiers": [format!("cradle_hub_cradle_{node}")],
            "name": format!("Cradle {short}"),
            "manufacturer": "Cradle Hub",
            "model": "Smart cradle",
            "serial_number": uuid,
            "via_device": HUB_DEVICE_ID,
            "configuration_url": hub.ui_url,
        },
        "origin": origin(hub),
    });
    let state = state_topic(&node, entity);
    let specific = match entity {
        Entity::Temperature => json!({
            "state_topic": state,
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "state_class": "measurement",
            "suggested_display_precision": 1,
        }),
        Entity::Crying => json!({
            "state_topic": state,
            "device_class": "sound",
            "payload_on": ON,
            "payload_off": OFF,
        }),
        Entity::Face => json!({
            "state_topic": state,
            "icon": "mdi:face-recognition",
            "payload_on": ON,
            "payload_off": OFF,
        }),
        Entity::Online => json!({
            "state_topic": state,
            "device_class": "connectivity",
            "payload_on": ONLINE,
            "payload_off": OFFLINE,
            "entity_category": "diagnostic",
        }),
        Entity::Rock => json!({
            "state_topic": state,
            "command_topic": command_topic(&node),
            "payload_on": ON,
            "payload_off": OFF,
            "optimistic": false,
            "qos": 0,
            "retain": false,
            "icon": "mdi:baby-carriage",
        }),
        Entity::Camera => json!({
            "topic": state,
            "json_attributes_topic": camera_attributes_topic(&node),
        }),
    };
    if let (Some(c), Value::Object(specific)) = (c.as_object_mut(), specific) {
        c.extend(specific);
    }
    c
}

/// The state payloads of a cradle's entities, as last published or about
/// to be. `None`: nothing known yet (nothing is published for it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct States {
    pub temperature: Option<String>,
    pub crying: Option<&'static str>,
    pub face: Option<&'static str>,
    pub online: &'static str,
    pub rock: &'static str,
}

fn on_off(on: bool) -> &'static str {
    if on { ON } else { OFF }
}

impl States {
    /// From the cradle's live status at `now`. The face counts as detected
    /// as the alert rules count it (anything but "no face" or a detector error).
    pub fn of(status: &CradleStatus, now: Millis) -> States {
        States {
            temperature: status.temperature.map(|t| t.to_string()),
            crying: status.crying.map(|c| on_off(c == Crying::Crying)),
            face: status
                .direction
                .as_ref()
                .map(|d| on_off(!d.is_face_missing())),
            online: if status.online(now) { ONLINE } else { OFFLINE },
            rock: on_off(status.rocking.is_some()),
        }
    }

    fn get(&self, entity: Entity) -> Option<&str> {
        match entity {
            Entity::Temperature => self.temperature.as_deref(),
            Entity::Crying => self.crying,
            Entity::Face => self.face,
            Entity::Online => Some(self.online),
            Entity::Rock => Some(self.rock),
            Entity::Camera => None,
        }
    }

    /// What to publish to go from `before` (`None`: nothing published yet,
    /// or Home Assistant needs everything again) to `self`.
    pub fn changes(&self, before: Option<&States>) -> Vec<(Entity, &str)> {
        Entity::ALL
            .into_iter()
            .filter_map(|e| {
                let now = self.get(e)?;
                let was = before.and_then(|b| b.get(e));
                (was != Some(now)).then_some((e, now))
            })
            .collect()
    }
}

/// A message on one of the topics the hub subscribes to for Home Assistant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Home Assistant's birth (`true`) or last will (`false`).
    HaStatus {
        online: bool,
    },
    Rock {
        node: String,
        action: Action,
    },
}

/// Why a message on a Home Assistant topic was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    /// A retained command would rock the cradle again at every reconnect.
    #[error("retained rock command ignored")]
    RetainedCommand,
    #[error("rock command payload is neither ON nor OFF")]
    BadCommand,
}

/// `None` when the topic is not one of Home Assistant's (it is a cradle's).
pub fn parse_inbound(
    topic: &str,
    payload: &[u8],
    retained: bool,
) -> Option<Result<Inbound, Dropped>> {
    if topic == BIRTH_TOPIC {
        return Some(Ok(Inbound::HaStatus {
            online: payload == ONLINE.as_bytes(),
        }));
    }
    let node = topic
        .strip_prefix(BASE)?
        .strip_prefix('/')?
        .strip_suffix("/rock/set")?;
    if node.is_empty() || node.contains('/') {
        return None;
    }
    if retained {
        return Some(Err(Dropped::RetainedCommand));
    }
    let action = match payload {
        b"ON" => Action::Start,
        b"OFF" => Action::Stop,
        _ => return Some(Err(Dropped::BadCommand)),
    };
    Some(Ok(Inbound::Rock {
        node: node.to_owned(),
        action,
    }))
}

/// `/stream/<uuid>?token=` on the hub's address, the uuid percent-encoded.
pub fn stream_url(base: &str, uuid: &str, token: &str) -> String {
    let uuid = percent_encoding::utf8_percent_encode(uuid, percent_encoding::NON_ALPHANUMERIC);
    format!("{base}/stream/{uuid}?token={token}")
}

/// The camera entity's attributes: the live MJPEG address while a signed
/// link exists, and why not otherwise.
pub fn camera_attributes(link: Option<(&str, Millis)>) -> Value {
    match link {
        Some((url, expires)) => json!({
            "mjpeg_url": url,
            "mjpeg_url_expires_at": format_millis(expires),
        }),
        None => json!({
            "mjpeg_url": null,
            "mjpeg_url_note": "signed out by a parent in the hub's session list; back after the hub restarts",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motor::{Actor, Rocking};
    use crate::readings::Direction;

    fn hub() -> HubInfo {
        HubInfo {
            name: "Cradle Hub".into(),
            version: "1.2.3",
            ui_url: "http://192.168.1.5:8080".into(),
        }
    }

    #[test]
    fn node_ids_keep_plain_uuids_and_never_collide() {
        let uuid = "3f2a9c1e-77b0-4c41-9d0e-0a1b2c3d4e5f";
        assert_eq!(node_id(uuid), uuid);
        assert_eq!(node_id("a.b"), "a_2eb");
        assert_eq!(node_id("a_b"), "a_5fb");
        assert_ne!(node_id("a_2eb"), node_id("a.b"));
        assert_eq!(node_id("아"), "_ec_95_84");
        assert!(
            node_id("x y?&é")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
    }

    #[test]
    fn topics_follow_the_discovery_layout() {
        assert_eq!(
            config_topic("c1", Entity::Temperature),
            "homeassistant/sensor/c1/temperature/config"
        );
        assert_eq!(
            config_topic("c1", Entity::Crying),
            "homeassistant/binary_sensor/c1/crying/config"
        );
        assert_eq!(
            config_topic("c1", Entity::Rock),
            "homeassistant/switch/c1/rock/config"
        );
        assert_eq!(
            config_topic("c1", Entity::Camera),
            "homeassistant/camera/c1/camera/config"
        );
        assert_eq!(
            hub_config_topic(),
            "homeassistant/binary_sensor/cradle_hub/broker/config"
        );
        assert_eq!(state_topic("c1", Entity::Face), "cradle-hub/c1/face");
        assert_eq!(command_topic("c1"), "cradle-hub/c1/rock/set");
    }

    #[test]
    fn temperature_config_has_the_documented_keys() {
        let c = config("c1", Entity::Temperature, &hub());
        assert_eq!(c["state_topic"], "cradle-hub/c1/temperature");
        assert_eq!(c["device_class"], "temperature");
        assert_eq!(c["unit_of_measurement"], "°C");
        assert_eq!(c["state_class"], "measurement");
        assert_eq!(c["unique_id"], "cradle_hub_c1_temperature");
        assert_eq!(c["device"]["identifiers"], json!(["cradle_hub_cradle_c1"]));
        assert_eq!(c["device"]["via_device"], HUB_DEVICE_ID);
        assert_eq!(c["device"]["configuration_url"], "http://192.168.1.5:8080");
        assert_eq!(c["availability_mode"], "all");
        assert_eq!(
            c["availability"],
            json!([
                {"topic": "cradle-hub/status"},
                {"topic": "cradle-hub/c1/online", "payload_available": "online", "payload_not_available": "offline"},
            ])
        );
    }

    #[test]
    fn online_sensor_depends_on_the_hub_only_and_the_switch_commands_through_the_hub() {
        let online = config("c1", Entity::Online, &hub());
        assert_eq!(online["device_class"], "connectivity");
        assert_eq!(
            online["availability"],
            json!([{"topic": "cradle-hub/status"}])
        );
        let rock = config("c1", Entity::Rock, &hub());
        assert_eq!(rock["command_topic"], "cradle-hub/c1/rock/set");
        assert_eq!(rock["state_topic"], "cradle-hub/c1/rock");
        assert_eq!(rock["optimistic"], false);
        assert_eq!(rock["retain"], false);
        let camera = config("c1", Entity::Camera, &hub());
        assert_eq!(camera["topic"], "cradle-hub/c1/camera");
        assert_eq!(
            camera["json_attributes_topic"],
            "cradle-hub/c1/camera/attributes"
        );
        // Configs are retained on the broker: nothing secret in them.
        for e in Entity::ALL {
            assert!(
                !config("c1", e, &hub()).to_string().contains("token"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn states_map_the_live_status() {
        let mut s = CradleStatus::default();
        let empty = States::of(&s, 0);
        assert_eq!(
            empty,
            States {
                temperature: None,
                crying: None,
                face: None,
                online: OFFLINE,
                rock: OFF,
            }
        );
        s.temperature = Some(36.6);
        s.temperature_at = Some(1_000);
        s.crying = Some(Crying::Crying);
        s.direction = Some(Direction::from_device("인식 안됨"));
        s.rocking = Some(Rocking {
            since: 0,
            stops_at: 10,
            by: Actor::User,
        });
        let full = States::of(&s, 2_000);
        assert_eq!(full.temperature.as_deref(), Some("36.6"));
        assert_eq!(full.crying, Some("ON"));
        assert_eq!(full.face, Some("OFF"), "no face seen");
        assert_eq!(full.online, ONLINE, "heard a second ago");
        assert_eq!(full.rock, "ON");
        assert_eq!(States::of(&s, 1_000 + 60_000).online, OFFLINE);
        s.direction = Some(Direction::from_device("좌측으로 움직임"));
        assert_eq!(
            States::of(&s, 2_000).face,
            Some("ON"),
            "a turned face is seen"
        );
    }

    #[test]
    fn only_changed_known_states_are_published() {
        let before = States {
            temperature: Some("36.6".into()),
            crying: Some(OFF),
            face: None,
            online: ONLINE,
            rock: OFF,
        };
        let mut after = before.clone();
        assert!(after.changes(Some(&before)).is_empty());
        after.crying = Some(ON);
        after.face = Some(ON);
        assert_eq!(
            after.changes(Some(&before)),
            vec![(Entity::Crying, "ON"), (Entity::Face, "ON")]
        );
        // Everything known, when Home Assistant needs it all again.
        assert_eq!(before.changes(None).len(), 4, "face unknown: not published");
    }

    #[test]
    fn inbound_messages() {
        assert_eq!(
            parse_inbound("homeassistant/status", b"online", false),
            Some(Ok(Inbound::HaStatus { online: true }))
        );
        assert_eq!(
            parse_inbound("homeassistant/status", b"offline", true),
            Some(Ok(Inbound::HaStatus { online: false }))
        );
        assert_eq!(
            parse_inbound("cradle-hub/c1/rock/set", b"ON", false),
            Some(Ok(Inbound::Rock {
                node: "c1".into(),
                action: Action::Start
            }))
        );
        assert_eq!(
            parse_inbound("cradle-hub/c1/rock/set", b"OFF", false),
            Some(Ok(Inbound::Rock {
                node: "c1".into(),
                action: Action::Stop
            }))
        );
        for bad in [
            &b"on"[..],
            b"start",
            b"",
            b"\xff\xfe",
            br#"{"action":"start"}"#,
        ] {
            assert_eq!(
                parse_inbound("cradle-hub/c1/rock/set", bad, false),
                Some(Err(Dropped::BadCommand)),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_inbound("cradle-hub/c1/rock/set", b"ON", true),
            Some(Err(Dropped::RetainedCommand))
        );
        for other in [
            "cradle/c1/temperature",
            "cradle-hub/c1/rock",
            "cradle-hub//rock/set",
            "cradle-hubx/c1/rock/set",
            "cradle-hub/a/b/rock/set",
        ] {
            assert_eq!(parse_inbound(other, b"ON", false), None, "{other}");
        }
    }

    #[test]
    fn stream_urls_and_camera_attributes() {
        assert_eq!(
            stream_url("http://h:1", "c 1/x", "t.o.k"),
            "http://h:1/stream/c%201%2Fx?token=t.o.k"
        );
        let a = camera_attributes(Some(("http://h:1/stream/c1?token=t", 0)));
        assert_eq!(a["mjpeg_url"], "http://h:1/stream/c1?token=t");
        assert!(a["mjpeg_url_expires_at"].is_string());
        assert!(camera_attributes(None)["mjpeg_url"].is_null());
    }
}
