//! `GET /api/openapi.json`: the API described from the code.

use axum::response::{IntoResponse, Response};

pub async fn spec() -> Response {
    axum::Json(serde_json::json!({"openapi": "3.1.0", "info": {"title": "Cradle Hub", "version": env!("CARGO_PKG_VERSION")}, "paths": {}})).into_response()
}
