//! MQTT: the embedded broker, the hub's client and payload parsing.

pub mod broker;
pub mod client;
pub mod parse;

/// The topics the hub subscribes to. Frames at QoS 0: rumqttd would deliver
/// them at the subscriber's QoS otherwise.
pub const SUBSCRIPTIONS: [(&str, rumqttc::QoS); 4] = [
    ("cradle/+/frame", rumqttc::QoS::AtMostOnce),
    ("cradle/+/direction", rumqttc::QoS::AtLeastOnce),
    ("cradle/+/crying", rumqttc::QoS::AtLeastOnce),
    ("cradle/+/temperature", rumqttc::QoS::AtLeastOnce),
];

pub fn servo_topic(uuid: &str) -> String {
    format!("cradle/{uuid}/servo")
}
