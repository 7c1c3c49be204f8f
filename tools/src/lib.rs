//! Cradle Hub's load tools, kept beside the product rather than inside it:
//! simulated cradles (`cradle-hub simulate`, also the demo's cradles) and the
//! benchmark (`cradle-hub bench`). They talk to a hub only through the public
//! contracts, API.md over HTTP and PROTOCOL.md over MQTT, so they measure any
//! hub that speaks them and never reach into the hub's code.

pub mod bench;
pub mod protocol;
pub mod simulator;
