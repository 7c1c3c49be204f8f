//! MQTT: the hub's own endpoint (default), the client for an external broker,
//! and payload parsing. [`MqttLink`] is what the rest of the hub uses,
//! whichever of the two carries the cradles' messages.

pub mod client;
pub mod parse;
pub mod server;

use client::MqttHandle;
use server::ServerHandle;

/// The topics the hub subscribes to on an external broker. Frames at QoS 0:
/// a broker would otherwise deliver them at the subscriber's QoS.
pub const SUBSCRIPTIONS: [(&str, rumqttc::QoS); 4] = [
    ("cradle/+/frame", rumqttc::QoS::AtMostOnce),
    ("cradle/+/direction", rumqttc::QoS::AtLeastOnce),
    ("cradle/+/crying", rumqttc::QoS::AtLeastOnce),
    ("cradle/+/temperature", rumqttc::QoS::AtLeastOnce),
];

pub fn servo_topic(uuid: &str) -> String {
    format!("cradle/{uuid}/servo")
}

#[derive(Debug, thiserror::Error)]
pub enum ServoError {
    #[error(transparent)]
    Endpoint(#[from] server::ServoError),
    #[error(transparent)]
    Broker(#[from] client::PublishError),
}

/// How cradles reach the hub.
#[derive(Clone)]
pub enum MqttLink {
    /// Cradles connect to the hub itself.
    Endpoint(ServerHandle),
    /// Cradles and the hub meet on someone else's broker.
    Broker(MqttHandle),
}

impl MqttLink {
    /// Sends a servo command to the cradle. With the hub's endpoint this
    /// fails when no connection of that cradle listens; with a broker, when
    /// the broker is unreachable.
    pub fn publish_servo(&self, uuid: &str, start: bool) -> Result<(), ServoError> {
        match self {
            MqttLink::Endpoint(server) => server.publish_servo(uuid, start).map(|_| ())?,
            MqttLink::Broker(client) => client.publish_servo(uuid, start)?,
        }
        Ok(())
    }

    /// Cradles can reach the hub: the endpoint accepts, or the client is
    /// connected to the broker.
    pub fn is_up(&self) -> bool {
        match self {
            MqttLink::Endpoint(server) => server.is_accepting(),
            MqttLink::Broker(client) => client.is_connected(),
        }
    }

    pub fn endpoint(&self) -> Option<&ServerHandle> {
        match self {
            MqttLink::Endpoint(server) => Some(server),
            MqttLink::Broker(_) => None,
        }
    }

    /// `host:port` of the external broker, or the endpoint's listen address.
    pub fn address(&self) -> String {
        match self {
            MqttLink::Endpoint(server) => server.addr.to_string(),
            MqttLink::Broker(client) => client.broker.clone(),
        }
    }
}
