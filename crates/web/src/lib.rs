//! The web console served by the daemon (axum): members' alert registrations, the
//! administrators' compose / confirm / campaign pages, the staff's transcript pages, and
//! a JSON API for the same operations described by an OpenAPI document.
//!
//! The console is thin: routes, handlers, templates, and the browser's side of sessions
//! and CSRF (cookies, the CSRF check, the request context). Every rule and every write is
//! the alert service's (`textgate-alert-service`), which handlers call through
//! [`WebState::alerts`]; the transcript pages read the store. Who may call a handler is
//! checked before it runs, by its [`request::Authorized`] (pages) or [`api::Authorized`]
//! (JSON API) extractor.
//!
//! Mount [`router`] in the daemon and serve it with
//! `into_make_service_with_connect_info::<SocketAddr>()` so that the test log, the audit
//! log and the sign-in limiter see the client's address.

#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
mod feeds;
mod forms;
pub mod kannel;
mod pages;
pub mod request;
mod send_limit;
pub mod settings;
mod state;
mod templates;

use axum::routing::{delete, get, post, put};
use axum::Router;

pub use pages::Desk;
pub use settings::{CookieSecurity, WebSettings};
pub use state::{Ctx, WebError, WebState};

/// Every page, form and API route of the console.
pub fn router(state: WebState) -> Router {
    use pages::{accounts, alerts, member, signin, tokens, transcripts};
    use request::{AlertDesk, TestDesk};
    Router::new()
        .route("/", get(pages::root))
        .route("/signin", get(signin::signin_page).post(signin::signin))
        .route("/signout", post(signin::signout))
        .route("/feeds/alerts.atom", get(feeds::atom))
        .route("/feeds/alerts.rss", get(feeds::rss))
        .route("/feeds/alerts.json", get(feeds::json))
        .route("/feeds/alerts/{file}", get(feeds::cap))
        .route("/alerts", get(member::member_get).post(member::member_post))
        .route("/alerts/confirm", post(member::member_confirm))
        .route("/alerts/groups", post(member::member_groups))
        .route("/alerts/email", post(member::member_email))
        .route("/alerts/xmpp", post(member::member_xmpp))
        .route("/alerts/remove", post(member::member_remove))
        .route("/admin", get(alerts::admin_home))
        .route(
            "/admin/test",
            get(alerts::compose_get::<TestDesk>).post(alerts::compose_back::<TestDesk>),
        )
        .route(
            "/admin/test/confirm",
            post(alerts::compose_confirm::<TestDesk>),
        )
        .route("/admin/test/send", post(alerts::compose_send::<TestDesk>))
        .route("/admin/test/schedule", post(alerts::schedule_test))
        .route(
            "/admin/schedules/{id}/cancel",
            post(alerts::schedule_cancel),
        )
        .route(
            "/admin/alert",
            get(alerts::compose_get::<AlertDesk>).post(alerts::compose_back::<AlertDesk>),
        )
        .route(
            "/admin/alert/confirm",
            post(alerts::compose_confirm::<AlertDesk>),
        )
        .route("/admin/alert/send", post(alerts::compose_send::<AlertDesk>))
        .route("/admin/campaigns/{id}", get(alerts::campaign_page))
        .route(
            "/admin/campaigns/{id}/decide",
            post(alerts::campaign_decide),
        )
        .route("/admin/campaigns/{id}/poll.csv", get(alerts::poll_export))
        .route("/admin/log", get(alerts::logs_page))
        .route(
            "/admin/accounts",
            get(accounts::accounts_get).post(accounts::accounts_post),
        )
        .route("/admin/accounts/{id}/tester", post(accounts::tester_post))
        .route("/admin/accounts/{id}", get(accounts::account_get))
        .route(
            "/admin/accounts/{id}/roles",
            post(accounts::account_roles_post),
        )
        .route(
            "/admin/accounts/{id}/remove",
            get(accounts::account_remove_get).post(accounts::account_remove_post),
        )
        .route("/tokens", get(tokens::tokens_get).post(tokens::tokens_post))
        .route(
            "/tokens/{id}/revoke",
            get(tokens::token_revoke_get).post(tokens::token_revoke_post),
        )
        .route("/staff/transcripts", get(transcripts::transcripts_get))
        .route(
            "/staff/transcripts/delete",
            post(transcripts::transcripts_delete),
        )
        .route(
            "/staff/transcripts/export",
            get(transcripts::transcripts_export),
        )
        .route("/static/{name}", get(templates::static_file))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/v1/me", get(api::me))
        .route(
            "/api/v1/tokens",
            get(api::access::tokens_get).post(api::access::token_post),
        )
        .route("/api/v1/tokens/{id}", delete(api::access::token_delete))
        .route(
            "/api/v1/accounts",
            get(api::access::accounts_get).post(api::access::account_post),
        )
        .route(
            "/api/v1/accounts/{id}/roles",
            put(api::access::account_roles_put),
        )
        .route("/api/v1/accounts/{id}", delete(api::access::account_delete))
        .route(
            "/api/v1/registration",
            get(api::alerts::registration_get)
                .post(api::alerts::registration_post)
                .delete(api::alerts::registration_delete),
        )
        .route(
            "/api/v1/registration/confirm",
            post(api::alerts::registration_confirm),
        )
        .route(
            "/api/v1/registration/groups",
            post(api::alerts::registration_groups),
        )
        .route("/api/v1/compose/measure", post(api::alerts::measure))
        .route("/api/v1/campaigns", post(api::alerts::campaign_post))
        .route("/api/v1/campaigns/{id}", get(api::alerts::campaign_get))
        .route(
            "/api/v1/campaigns/{id}/decide",
            post(api::alerts::campaign_decide),
        )
        .route("/api/v1/templates", get(api::alerts::templates_get))
        .route(
            "/api/v1/schedules",
            get(api::alerts::schedules_get).post(api::alerts::schedules_post),
        )
        .route(
            "/api/v1/schedules/{id}/cancel",
            post(api::alerts::schedule_cancel),
        )
        .route("/api/v1/send-log", get(api::alerts::send_log))
        .route("/api/v1/audit-log", get(api::alerts::audit_log))
        .route(
            "/api/v1/transcripts/conversations",
            get(api::transcripts::conversations),
        )
        .route("/api/v1/transcripts/stats", get(api::transcripts::stats))
        .route("/api/v1/transcripts/export", get(api::transcripts::export))
        .route("/api/v1/transcripts/delete", post(api::transcripts::delete))
        .route("/api/v1/texts", post(api::texts::text_post))
        .route("/api/v1/texts/{id}", get(api::texts::text_get))
        .route("/api/v1/webhooks", get(api::webhooks::list))
        .route(
            "/api/v1/webhooks/deliveries",
            get(api::webhooks::deliveries),
        )
        .route(
            "/cgi-bin/sendsms",
            get(kannel::sendsms).post(kannel::sendsms),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::error_frame::framed_errors,
        ))
        .with_state(state)
}
