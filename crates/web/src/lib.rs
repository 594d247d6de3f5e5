//! The web console served by the daemon (axum): members' alert registrations, the
//! administrators' compose / confirm / campaign pages, the staff's transcript pages, and
//! a JSON API for the same operations described by an OpenAPI document.
//!
//! Mount [`router`] in the daemon and serve it with
//! `into_make_service_with_connect_info::<SocketAddr>()` so that the test log and the
//! sign-in limiter see the client's address. Create the first administrator with
//! [`create_admin`]. The gateway runtime hands incoming texts to
//! [`handle_incoming_sms`] first, for STOP / START / HELP, and calls
//! [`send_review_reminders`] now and then.

#![forbid(unsafe_code)]

mod access_pages;
pub mod accounts;
pub mod api;
pub mod auth;
pub mod campaigns;
pub mod db;
mod forms;
pub mod members;
mod pages;
pub mod settings;
mod state;
mod templates;
pub mod tokens;

use axum::routing::{delete, get, post, put};
use axum::Router;

pub use accounts::{all_roles, create_account, create_admin};
pub use db::{Audience, Db, DbError};
pub use members::{handle_incoming_sms, send_review_reminders, KeywordHandled};
pub use pages::Desk;
pub use settings::{CampaignModem, CookieSecurity, PasswordCost, SigninLimit, WebSettings};
pub use state::{Ctx, WebError, WebState};

/// Every page, form and API route of the console.
pub fn router(state: WebState) -> Router {
    use pages::*;
    Router::new()
        .route("/", get(root))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/alerts", get(member_get).post(member_post))
        .route("/alerts/confirm", post(member_confirm))
        .route("/admin", get(admin_home))
        .route("/admin/test", get(|s, c| compose_get(s, c, Desk::Test)))
        .route(
            "/admin/test/confirm",
            post(|s, c, f| compose_confirm(s, c, Desk::Test, f)),
        )
        .route(
            "/admin/test/send",
            post(|s, c, f| compose_send(s, c, Desk::Test, f)),
        )
        .route("/admin/alert", get(|s, c| compose_get(s, c, Desk::Alert)))
        .route(
            "/admin/alert/confirm",
            post(|s, c, f| compose_confirm(s, c, Desk::Alert, f)),
        )
        .route(
            "/admin/alert/send",
            post(|s, c, f| compose_send(s, c, Desk::Alert, f)),
        )
        .route("/admin/campaigns/{id}", get(campaign_page))
        .route("/admin/log", get(logs_page))
        .route("/admin/accounts", get(accounts_get).post(accounts_post))
        .route("/admin/accounts/{id}/tester", post(tester_post))
        .route("/admin/accounts/{id}", get(access_pages::account_get))
        .route(
            "/admin/accounts/{id}/roles",
            post(access_pages::account_roles_post),
        )
        .route(
            "/admin/accounts/{id}/remove",
            get(access_pages::account_remove_get).post(access_pages::account_remove_post),
        )
        .route(
            "/tokens",
            get(access_pages::tokens_get).post(access_pages::tokens_post),
        )
        .route(
            "/tokens/{id}/revoke",
            get(access_pages::token_revoke_get).post(access_pages::token_revoke_post),
        )
        .route("/staff/transcripts", get(transcripts_get))
        .route("/staff/transcripts/delete", post(transcripts_delete))
        .route("/staff/transcripts/export", get(transcripts_export))
        .route("/static/{name}", get(templates::static_file))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/tokens", get(api::tokens_get).post(api::token_post))
        .route("/api/v1/tokens/{id}", delete(api::token_delete))
        .route(
            "/api/v1/accounts",
            get(api::accounts_get).post(api::account_post),
        )
        .route("/api/v1/accounts/{id}/roles", put(api::account_roles_put))
        .route("/api/v1/accounts/{id}", delete(api::account_delete))
        .route(
            "/api/v1/registration",
            get(api::registration_get)
                .post(api::registration_post)
                .delete(api::registration_delete),
        )
        .route(
            "/api/v1/registration/confirm",
            post(api::registration_confirm),
        )
        .route("/api/v1/compose/measure", post(api::measure))
        .route("/api/v1/campaigns", post(api::campaign_post))
        .route("/api/v1/campaigns/{id}", get(api::campaign_get))
        .route("/api/v1/send-log", get(api::send_log))
        .route("/api/v1/audit-log", get(api::audit_log))
        .route("/api/v1/transcripts/conversations", get(api::conversations))
        .route("/api/v1/transcripts/stats", get(api::stats))
        .route("/api/v1/transcripts/export", get(api::export))
        .route("/api/v1/transcripts/delete", post(api::delete))
        .with_state(state)
}
