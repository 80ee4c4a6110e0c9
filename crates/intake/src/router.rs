//! The HTTP API's routes (docs/openapi.yaml): which handler answers which path, and the layers
//! every request passes (JSON errors, no framework body limit — each handler reads its body
//! with its own limits).

use crate::errors;
use crate::state::IntakeState;
use crate::{chatwork, lineworks, partner_api};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// The HTTP API (see docs/openapi.yaml).
pub fn router(state: IntakeState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/consultations",
            post(partner_api::create).get(partner_api::list),
        )
        .route("/v1/consultations/:id", get(partner_api::view))
        .route(
            "/v1/consultations/:id/attachments",
            post(partner_api::attach),
        )
        .route("/v1/webhooks/lineworks", post(lineworks::callback))
        .route("/v1/webhooks/chatwork", post(chatwork::webhook))
        .fallback(errors::not_found_fallback)
        .method_not_allowed_fallback(errors::method_not_allowed_fallback)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(errors::json_errors))
        .with_state(state)
}
