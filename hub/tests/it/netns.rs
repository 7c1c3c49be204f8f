//! A LAN of the test's own: two Linux network namespaces joined by a veth
//! pair, for the mDNS tests. Multicast then really crosses a link, between
//! the two ends only, and never reaches the machine's own network.
//!
//! A network namespace belongs to a thread: a thread that unshares its own
//! sees only that namespace, and so do the threads and processes it starts
//! (the hub's runtime and store thread, mdns-sd's daemon thread, `ip`).
//! Needs root (CAP_SYS_ADMIN) and iproute2's `ip`.
//!
//! Also compiled into the desktop app's tests (src-tauri/src/lan.rs).

use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The hub's end of the link (TEST-NET-2, RFC 5737: never a real host).
pub const HUB_IP: &str = "198.51.100.1";
/// The other end: a phone or laptop on the LAN.
pub const PEER_IP: &str = "198.51.100.2";

const HUB_IF: &str = "cradle-hub0";
const PEER_IF: &str = "cradle-peer0";

/// Runs `hub_side` and `peer_side` on two threads, each in a namespace of
/// its own with loopback up and one end of the link (`HUB_IP/24`,
/// `PEER_IP/24`). Both start once the link is configured; the namespaces
/// go when the threads end.
pub fn two_hosts<A: Send, B: Send>(
    hub_side: impl FnOnce() -> A + Send,
    peer_side: impl FnOnce() -> B + Send,
) -> (A, B) {
    let (peer_tid_tx, peer_tid) = mpsc::channel::<libc::pid_t>();
    let (link_made_tx, link_made) = mpsc::channel::<()>();
    let (peer_ready_tx, peer_ready) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let peer = scope.spawn(move || {
            own_namespace();
            // SAFETY: gettid has no preconditions.
            peer_tid_tx
                .send(unsafe { libc::gettid() })
                .expect("send tid");
            link_made
                .recv()
                .expect("the hub's side made the link (see its panic)");
            configure(PEER_IF, PEER_IP);
            wait_running(PEER_IF);
            peer_ready_tx.send(()).expect("peer ready");
            peer_side()
        });
        let hub = scope.spawn(move || {
            own_namespace();
            let tid = peer_tid
                .recv()
                .expect("the peer's namespace (see its panic)");
            ip(&[
                "link",
                "add",
                HUB_IF,
                "type",
                "veth",
                "peer",
                "name",
                PEER_IF,
                "netns",
                &tid.to_string(),
            ]);
            configure(HUB_IF, HUB_IP);
            link_made_tx.send(()).expect("link made");
            peer_ready
                .recv()
                .expect("the peer's end is up (see its panic)");
            wait_running(HUB_IF);
            hub_side()
        });
        let hub = hub.join();
        let peer = peer.join();
        match (hub, peer) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => std::panic::resume_unwind(e),
        }
    })
}

fn own_namespace() {
    // SAFETY: unshare only changes this thread's namespace membership.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        panic!(
            "cannot make a network namespace for the mDNS test (needs root or CAP_SYS_ADMIN): {}",
            std::io::Error::last_os_error()
        );
    }
    ip(&["link", "set", "lo", "up"]);
}

fn configure(interface: &str, address: &str) {
    ip(&["addr", "add", &format!("{address}/24"), "dev", interface]);
    ip(&["link", "set", interface, "up"]);
}

/// Until the link carries packets (both ends up): mdns-sd leaves out an
/// interface without carrier, and would only see it at its next check.
fn wait_running(interface: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let link = ip(&["-o", "link", "show", "dev", interface]);
        if link.contains("LOWER_UP") && link.contains("state UP") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{interface} never came up: {link}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("iproute2's `ip` is needed for the mDNS test: {e}"));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
