//! The Tauri configuration is the repository's top-level `tauri.conf.json`.
//! The app's own commands get permissions (an app ACL manifest) because the
//! window shows the hub's page, which Tauri treats as a remote origin: such a
//! page may only call commands that a capability grants it.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(&[
            "get_mode",
            "set_mode",
            "set_language",
            "decode_qr",
            "find_hubs",
        ]));
    if let Err(e) = tauri_build::try_build(attributes) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
