//! `/ca.crt` and `/ca`: the local CA and how to trust it.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};

pub async fn ca_cert(State(state): State<AppState>) -> Result<Response, ApiError> {
    let tls = state.tls.as_ref().ok_or_else(ApiError::not_found)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/x-x509-ca-cert",
        )],
        tls.ca_pem.clone(),
    )
        .into_response())
}

pub async fn install_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.tls.as_ref().ok_or_else(ApiError::not_found)?;
    Err(ApiError::not_found())
}
