//! Who is connected: client ids (for takeover), the cradle each connection is
//! bound to, and the connections listening to a cradle's servo topic.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rumqttc::QoS;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::CloseReason;

pub type ConnId = u64;

/// What the rest of the hub can do to one live connection.
pub struct ConnControl {
    pub id: ConnId,
    /// Cancelled to close the connection; `reason` says why.
    pub kill: CancellationToken,
    pub reason: Mutex<Option<CloseReason>>,
    /// Servo commands to write to this connection (it sets the packet id).
    pub outbox: mpsc::Sender<rumqttc::Publish>,
    /// Set once the connection logged in with its cradle's password.
    pub authenticated: std::sync::atomic::AtomicBool,
}

impl ConnControl {
    pub fn close(&self, reason: CloseReason) {
        self.reason.lock().get_or_insert(reason);
        self.kill.cancel();
    }
}

struct Listener {
    conn: Arc<ConnControl>,
    qos: QoS,
}

#[derive(Default)]
struct Inner {
    by_client_id: HashMap<String, Arc<ConnControl>>,
    /// Connections bound to each cradle (a cradle may briefly have two while
    /// a half-open old connection waits for its keepalive to expire).
    bound: HashMap<Arc<str>, Vec<Arc<ConnControl>>>,
    servo: HashMap<Arc<str>, Vec<Listener>>,
}

#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    /// Registers a connection under its client id. An older connection with
    /// the same id is closed (MQTT's session takeover).
    pub fn connect(&self, client_id: &str, conn: Arc<ConnControl>) {
        let old = self
            .inner
            .lock()
            .by_client_id
            .insert(client_id.to_owned(), conn);
        if let Some(old) = old {
            old.close(CloseReason::Takeover);
        }
    }

    /// Binds a connection to a cradle. Returns true when this is the cradle's
    /// first live connection (it just came online).
    pub fn bind(&self, uuid: &str, conn: &Arc<ConnControl>) -> bool {
        let mut inner = self.inner.lock();
        let list = inner.bound.entry(Arc::from(uuid)).or_default();
        list.push(conn.clone());
        list.len() == 1
    }

    pub fn listen_servo(&self, uuid: &str, conn: &Arc<ConnControl>, qos: QoS) {
        let mut inner = self.inner.lock();
        let list = inner.servo.entry(Arc::from(uuid)).or_default();
        list.retain(|l| l.conn.id != conn.id);
        list.push(Listener {
            conn: conn.clone(),
            qos,
        });
    }

    pub fn unlisten_servo(&self, uuid: &str, conn: ConnId) {
        let mut inner = self.inner.lock();
        remove_listener(&mut inner.servo, uuid, conn);
    }

    /// Forgets a closed connection. Returns true when its cradle has no live
    /// connection left (it just went offline).
    pub fn disconnect(&self, client_id: &str, conn: ConnId, cradle: Option<&str>) -> bool {
        let mut inner = self.inner.lock();
        if inner
            .by_client_id
            .get(client_id)
            .is_some_and(|c| c.id == conn)
        {
            inner.by_client_id.remove(client_id);
        }
        let Some(uuid) = cradle else {
            return false;
        };
        remove_listener(&mut inner.servo, uuid, conn);
        let Some(list) = inner.bound.get_mut(uuid) else {
            return false;
        };
        list.retain(|c| c.id != conn);
        if list.is_empty() {
            inner.bound.remove(uuid);
            true
        } else {
            false
        }
    }

    /// The connections to write a servo command to, with the QoS each asked for.
    pub fn servo_listeners(&self, uuid: &str) -> Vec<(Arc<ConnControl>, QoS)> {
        self.inner
            .lock()
            .servo
            .get(uuid)
            .map(|l| l.iter().map(|l| (l.conn.clone(), l.qos)).collect())
            .unwrap_or_default()
    }

    /// Closes every connection bound to `uuid` that did not log in with its
    /// password (used when the owner turns the password on).
    pub fn close_unauthenticated(&self, uuid: &str) -> usize {
        let conns: Vec<Arc<ConnControl>> = self
            .inner
            .lock()
            .bound
            .get(uuid)
            .cloned()
            .unwrap_or_default();
        let mut closed = 0;
        for c in conns {
            if !c.authenticated.load(std::sync::atomic::Ordering::Acquire) {
                c.close(CloseReason::PasswordRequired);
                closed += 1;
            }
        }
        closed
    }

    pub fn is_online(&self, uuid: &str) -> bool {
        self.inner.lock().bound.contains_key(uuid)
    }

    pub fn connections(&self) -> usize {
        self.inner.lock().by_client_id.len()
    }
}

fn remove_listener(servo: &mut HashMap<Arc<str>, Vec<Listener>>, uuid: &str, conn: ConnId) {
    if let Some(list) = servo.get_mut(uuid) {
        list.retain(|l| l.conn.id != conn);
        if list.is_empty() {
            servo.remove(uuid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(id: ConnId) -> Arc<ConnControl> {
        let (outbox, _) = mpsc::channel(1);
        Arc::new(ConnControl {
            id,
            kill: CancellationToken::new(),
            reason: Mutex::new(None),
            outbox,
            authenticated: false.into(),
        })
    }

    #[test]
    fn a_second_connection_with_the_same_client_id_takes_over() {
        let r = Registry::default();
        let (a, b) = (conn(1), conn(2));
        r.connect("dev", a.clone());
        r.connect("dev", b.clone());
        assert!(a.kill.is_cancelled());
        assert_eq!(*a.reason.lock(), Some(CloseReason::Takeover));
        assert!(!b.kill.is_cancelled());
        // The old connection's cleanup must not unregister the new one.
        r.disconnect("dev", 1, None);
        assert_eq!(r.connections(), 1);
    }

    #[test]
    fn a_cradle_is_online_while_any_of_its_connections_is() {
        let r = Registry::default();
        let (a, b) = (conn(1), conn(2));
        r.connect("a", a.clone());
        r.connect("b", b.clone());
        assert!(r.bind("c1", &a), "first connection brings it online");
        assert!(!r.bind("c1", &b));
        r.listen_servo("c1", &a, QoS::AtMostOnce);
        r.listen_servo("c1", &b, QoS::AtLeastOnce);
        assert_eq!(r.servo_listeners("c1").len(), 2);
        assert!(!r.disconnect("a", 1, Some("c1")));
        assert!(r.is_online("c1"));
        assert_eq!(r.servo_listeners("c1").len(), 1);
        assert!(
            r.disconnect("b", 2, Some("c1")),
            "last one takes it offline"
        );
        assert!(!r.is_online("c1"));
        assert!(r.servo_listeners("c1").is_empty());
    }

    #[test]
    fn turning_on_a_password_closes_only_anonymous_connections() {
        let r = Registry::default();
        let (anon, logged_in) = (conn(1), conn(2));
        logged_in
            .authenticated
            .store(true, std::sync::atomic::Ordering::Release);
        r.bind("c1", &anon);
        r.bind("c1", &logged_in);
        assert_eq!(r.close_unauthenticated("c1"), 1);
        assert!(anon.kill.is_cancelled());
        assert!(!logged_in.kill.is_cancelled());
    }
}
