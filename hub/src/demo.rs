//! `cradle-hub --demo`: the hub, two simulated cradles and an account that
//! owns them, ready to open in a browser. Within its first minutes the demo
//! shows the safety features: the first cradle's baby cries from 10 s on,
//! its soothing loop rocks it (the baby calms after half a minute of
//! rocking) and a crying alert fires; the second cradle's camera drops out
//! from minute 2 to minute 4 (`camera_silent`, then resolved by itself).

use crate::RunningHub;
use crate::auth;
use crate::store::{agents, users};
use crate::timefmt::now_millis;
use cradle_tools::simulator::{self, Faults, SimulateArgs, Simulator};

pub const DEMO_USER: &str = "demo";
pub const DEMO_CRADLES: [&str; 2] = ["demo-cradle-1", "demo-cradle-2"];

/// Prepares the account and cradles, starts the simulator, and returns the
/// password to print. On loopback the password is `demo`; on any other
/// address a fresh random one, so a demo reachable from the LAN is never
/// guarded by a well-known password.
pub async fn setup(hub: &RunningHub) -> anyhow::Result<(String, Simulator)> {
    let store = &hub.state.store;
    let password = if hub.http_addr.ip().is_loopback() {
        "demo".to_owned()
    } else {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 9]>())
    };
    let existing = store.read(|c| users::by_name(c, DEMO_USER)).await?;
    let user_id = match existing {
        Some(u) => {
            let unchanged =
                auth::verify_password(password.clone(), u.password_hash.clone()).await?;
            if !unchanged {
                let hash = auth::hash_password(password.clone()).await?;
                store
                    .write(move |c| users::set_password(c, u.id, &hash))
                    .await?;
                // Whoever signed in with the old password is signed out.
                hub.state.sessions.end_all_but(u.id, None).await?;
            }
            u.id
        }
        None => auth::create_user(store, DEMO_USER, &password).await?,
    };
    for uuid in DEMO_CRADLES {
        let now = now_millis();
        store
            .write(move |c| {
                agents::upsert(c, uuid, "127.0.0.1", now)?;
                agents::claim(c, uuid, user_id, true, now).map(|_| ())
            })
            .await?;
        hub.state.live.set_owner(uuid, Some(user_id));
    }
    let soothed = DEMO_CRADLES[0];
    let settings = hub.state.alerts.settings(soothed);
    hub.state
        .alerts
        .save_settings(
            soothed,
            crate::alerts::engine::AlertSettings {
                soothing_enabled: true,
                ..settings
            },
        )
        .await?;
    let mqtt_url = match hub.mqtt_addr {
        Some(addr) => format!("mqtt://127.0.0.1:{}", addr.port()),
        None => format!("mqtt://{}", hub.state.mqtt.address()),
    };
    let args = SimulateArgs {
        hub_url: format!("http://127.0.0.1:{}", hub.http_addr.port()),
        mqtt_url,
        cradles: DEMO_CRADLES.len(),
        prefix: "demo-cradle".into(),
        uuids: DEMO_CRADLES.iter().map(|s| s.to_string()).collect(),
        fps: 10.0,
        junk: false,
        no_register: false,
        faults: Faults::default(),
        faults_per_cradle: vec![
            Faults {
                cry_after: 10,
                cry_for: Some(600),
                calms_after_rocking: Some(30),
                ..Faults::default()
            },
            Faults {
                camera_dies_after: Some(120),
                camera_off_for: Some(120),
                ..Faults::default()
            },
        ],
    };
    let sim = simulator::start(&args).await?;
    Ok((password, sim))
}
