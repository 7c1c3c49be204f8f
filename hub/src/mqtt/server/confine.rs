//! Who may publish and subscribe to what: pure rules, no I/O.
//!
//! A connection belongs to at most one cradle. It is bound by its username
//! (a cradle with a password logs in as its uuid) or, for today's anonymous
//! firmware, by the first cradle topic it publishes or subscribes to. From
//! then on it may publish only that cradle's readings and frames, and
//! subscribe only to that cradle's servo topic. Servo commands come from the
//! hub alone.

use crate::mqtt::parse::{self, MAX_UUID_LEN};

/// Why a publish or a subscription was refused; each has a counter in `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `+` or `#` in a subscription, or in a publish topic (invalid there).
    Wildcard,
    /// A topic of a cradle other than the one this connection is bound to.
    OtherCradle,
    /// Only the hub publishes servo commands.
    ServoPublish,
    /// `$SYS/...` and other `$` topics.
    System,
    /// A topic outside `cradle/<uuid>/<kind>`, or a subscription to anything
    /// but the bound cradle's servo topic.
    NotACradleTopic,
    /// The cradle requires a password and this connection did not log in as it.
    PasswordRequired,
}

impl Refusal {
    pub const ALL: [Refusal; 6] = [
        Refusal::Wildcard,
        Refusal::OtherCradle,
        Refusal::ServoPublish,
        Refusal::System,
        Refusal::NotACradleTopic,
        Refusal::PasswordRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Wildcard => "wildcard",
            Refusal::OtherCradle => "other_cradle",
            Refusal::ServoPublish => "servo_publish",
            Refusal::System => "system_topic",
            Refusal::NotACradleTopic => "not_a_cradle_topic",
            Refusal::PasswordRequired => "password_required",
        }
    }
}

/// What a connection may do, as far as the rules are concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    cradle: Option<String>,
    /// Logged in with the cradle's password (so it may act for a cradle that
    /// requires one).
    authenticated: bool,
}

/// The answer for one publish or subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; `newly_bound` is set when this bound the connection.
    Allow {
        newly_bound: Option<String>,
    },
    Refuse(Refusal),
}

impl Binding {
    /// A connection that logged in as `uuid` with the right password.
    pub fn authenticated(uuid: &str) -> Binding {
        Binding {
            cradle: Some(uuid.to_owned()),
            authenticated: true,
        }
    }

    /// A connection whose username names a cradle without a password.
    pub fn named(uuid: &str) -> Binding {
        Binding {
            cradle: Some(uuid.to_owned()),
            authenticated: false,
        }
    }

    pub fn cradle(&self) -> Option<&str> {
        self.cradle.as_deref()
    }

    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// May this connection publish to `topic`? `needs_password` tells
    /// whether a cradle requires a password.
    pub fn check_publish(
        &mut self,
        topic: &str,
        needs_password: impl Fn(&str) -> bool,
    ) -> Decision {
        if let Some(refusal) = refuse_special(topic) {
            return Decision::Refuse(refusal);
        }
        let mut levels = topic.split('/');
        let (Some("cradle"), Some(uuid), Some(kind)) =
            (levels.next(), levels.next(), levels.next())
        else {
            return Decision::Refuse(Refusal::NotACradleTopic);
        };
        if kind == "servo" {
            return Decision::Refuse(Refusal::ServoPublish);
        }
        if !valid_uuid(uuid) {
            return Decision::Refuse(Refusal::NotACradleTopic);
        }
        // Junk under the cradle's own prefix (an unknown kind, extra levels)
        // is not a confinement matter: ingest drops and counts it. It does
        // not bind the connection, though.
        let binds = parse::parse_topic(topic).is_ok();
        self.bind(uuid, binds, &needs_password)
    }

    /// May this connection subscribe to `filter`?
    pub fn check_subscribe(
        &mut self,
        filter: &str,
        needs_password: impl Fn(&str) -> bool,
    ) -> Decision {
        if let Some(refusal) = refuse_special(filter) {
            return Decision::Refuse(refusal);
        }
        let mut levels = filter.split('/');
        let (Some("cradle"), Some(uuid), Some("servo"), None) =
            (levels.next(), levels.next(), levels.next(), levels.next())
        else {
            return Decision::Refuse(Refusal::NotACradleTopic);
        };
        if !valid_uuid(uuid) {
            return Decision::Refuse(Refusal::NotACradleTopic);
        }
        self.bind(uuid, true, &needs_password)
    }

    fn bind(
        &mut self,
        uuid: &str,
        binds: bool,
        needs_password: &impl Fn(&str) -> bool,
    ) -> Decision {
        match &self.cradle {
            Some(bound) if bound != uuid => Decision::Refuse(Refusal::OtherCradle),
            Some(_) if !self.authenticated && needs_password(uuid) => {
                Decision::Refuse(Refusal::PasswordRequired)
            }
            Some(_) => Decision::Allow { newly_bound: None },
            None if needs_password(uuid) => Decision::Refuse(Refusal::PasswordRequired),
            None if binds => {
                self.cradle = Some(uuid.to_owned());
                Decision::Allow {
                    newly_bound: Some(uuid.to_owned()),
                }
            }
            None => Decision::Allow { newly_bound: None },
        }
    }
}

fn refuse_special(topic: &str) -> Option<Refusal> {
    if topic.starts_with('$') {
        Some(Refusal::System)
    } else if topic.contains(['+', '#']) {
        Some(Refusal::Wildcard)
    } else {
        None
    }
}

fn valid_uuid(uuid: &str) -> bool {
    !uuid.is_empty() && uuid.len() <= MAX_UUID_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(_: &str) -> bool {
        false
    }

    #[test]
    fn the_first_cradle_topic_binds_and_others_are_refused() {
        let mut b = Binding::default();
        assert_eq!(
            b.check_publish("cradle/a/frame", open),
            Decision::Allow {
                newly_bound: Some("a".into())
            }
        );
        assert_eq!(
            b.check_publish("cradle/a/temperature", open),
            Decision::Allow { newly_bound: None }
        );
        assert_eq!(
            b.check_publish("cradle/b/temperature", open),
            Decision::Refuse(Refusal::OtherCradle)
        );
        assert_eq!(
            b.check_subscribe("cradle/b/servo", open),
            Decision::Refuse(Refusal::OtherCradle)
        );
        assert_eq!(
            b.check_subscribe("cradle/a/servo", open),
            Decision::Allow { newly_bound: None }
        );
    }

    #[test]
    fn a_servo_subscription_binds_like_the_firmware_does_on_connect() {
        let mut b = Binding::default();
        assert_eq!(
            b.check_subscribe("cradle/a/servo", open),
            Decision::Allow {
                newly_bound: Some("a".into())
            }
        );
        assert_eq!(b.cradle(), Some("a"));
    }

    #[test]
    fn wildcards_system_topics_and_servo_publishes_are_refused() {
        let mut b = Binding::default();
        for (filter, why) in [
            ("cradle/+/frame", Refusal::Wildcard),
            ("#", Refusal::Wildcard),
            ("cradle/a/#", Refusal::Wildcard),
            ("$SYS/broker/clients", Refusal::System),
            ("cradle/a/frame", Refusal::NotACradleTopic),
            ("other/topic", Refusal::NotACradleTopic),
            ("cradle/a/servo/x", Refusal::NotACradleTopic),
        ] {
            assert_eq!(
                b.check_subscribe(filter, open),
                Decision::Refuse(why),
                "{filter}"
            );
        }
        assert_eq!(
            b.check_publish("cradle/a/servo", open),
            Decision::Refuse(Refusal::ServoPublish)
        );
        assert_eq!(
            b.check_publish("$SYS/x", open),
            Decision::Refuse(Refusal::System)
        );
        assert_eq!(b.cradle(), None, "nothing refused binds the connection");
    }

    #[test]
    fn junk_under_a_cradle_prefix_passes_to_ingest_without_binding() {
        let mut b = Binding::default();
        assert_eq!(
            b.check_publish("cradle/a/frame/extra", open),
            Decision::Allow { newly_bound: None }
        );
        assert_eq!(
            b.check_publish("cradle/a/unknown-kind", open),
            Decision::Allow { newly_bound: None }
        );
        assert_eq!(b.cradle(), None);
        assert_eq!(
            b.check_publish("no-levels", open),
            Decision::Refuse(Refusal::NotACradleTopic)
        );
    }

    #[test]
    fn a_cradle_with_a_password_accepts_only_its_logged_in_connection() {
        let locked = |u: &str| u == "a";
        let mut anonymous = Binding::default();
        assert_eq!(
            anonymous.check_publish("cradle/a/frame", locked),
            Decision::Refuse(Refusal::PasswordRequired)
        );
        assert_eq!(
            anonymous.check_subscribe("cradle/a/servo", locked),
            Decision::Refuse(Refusal::PasswordRequired)
        );
        assert_eq!(anonymous.cradle(), None);

        let mut named = Binding::named("a");
        assert_eq!(
            named.check_publish("cradle/a/frame", locked),
            Decision::Refuse(Refusal::PasswordRequired)
        );

        let mut logged_in = Binding::authenticated("a");
        assert_eq!(
            logged_in.check_publish("cradle/a/frame", locked),
            Decision::Allow { newly_bound: None }
        );
        assert_eq!(
            logged_in.check_publish("cradle/b/frame", locked),
            Decision::Refuse(Refusal::OtherCradle)
        );
    }

    #[test]
    fn overlong_or_empty_ids_are_not_cradles() {
        let mut b = Binding::default();
        let long = format!("cradle/{}/frame", "x".repeat(MAX_UUID_LEN + 1));
        assert_eq!(
            b.check_publish(&long, open),
            Decision::Refuse(Refusal::NotACradleTopic)
        );
        assert_eq!(
            b.check_publish("cradle//frame", open),
            Decision::Refuse(Refusal::NotACradleTopic)
        );
    }
}
