//! The HTTP API's routes (docs/openapi.yaml): which handler answers which path, and the layers
//! every request passes (JSON errors, no framework body limit — each handler reads its body
//! with its own limits).

use crate::desk_api::{access, consultations as desk, events};
use crate::errors;
use crate::state::IntakeState;
use crate::{chatwork, lineworks, partner_api};
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
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
        // Connected desks (issue 19): desk_api/.
        .route("/v1/desk/enroll", post(access::enroll))
        .route("/v1/desk/sessions", post(access::sign_in))
        .route("/v1/desk/sessions/current", delete(access::sign_out))
        .route("/v1/desk/me", get(access::me))
        .route("/v1/desk/staff", get(access::staff))
        .route("/v1/desk/settings", get(access::settings))
        .route("/v1/desk/queue", get(desk::queue))
        .route("/v1/desk/search", get(desk::search))
        .route("/v1/desk/consultations/:id", get(desk::show))
        .route("/v1/desk/consultations/:id/take", post(desk::take))
        .route("/v1/desk/consultations/:id/assign", post(desk::assign))
        .route("/v1/desk/consultations/:id/status", post(desk::status))
        .route("/v1/desk/consultations/:id/urgency", post(desk::urgency))
        .route("/v1/desk/consultations/:id/category", post(desk::category))
        .route("/v1/desk/consultations/:id/messages", post(desk::message))
        .route("/v1/desk/consultations/:id/reply", post(desk::reply))
        .route("/v1/desk/consultations/:id/snooze", post(desk::snooze))
        .route("/v1/desk/documents/:id", get(desk::document))
        .route("/v1/desk/phone", post(desk::phone))
        .route("/v1/desk/events", get(events::events))
        .route("/v1/desk/presence", post(events::presence))
        .fallback(errors::not_found_fallback)
        .method_not_allowed_fallback(errors::method_not_allowed_fallback)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(errors::json_errors))
        .with_state(state)
}
