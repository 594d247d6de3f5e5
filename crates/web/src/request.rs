//! Who may call a page handler, checked before the handler runs: [`Authorized<G>`] is the
//! handler's last extractor. For a request that changes something (any method but GET and
//! HEAD) it reads the form and refuses it unless the form's `csrf` field is the session's
//! CSRF token, before anything else; then it admits the caller by the guard `G` (signed
//! in, holding the role the action needs). Handlers never repeat these checks: the
//! account they act with (and hand to the alert service) is the one their guard admitted.
//!
//! The JSON API has its own extractor with the same guards (`api::Authorized`), which
//! reads the CSRF token from the `X-CSRF-Token` header instead of the body.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Method;
use textgate_alert_service::tokens::TokenScope;
use textgate_alert_service::{Account, Actor};
use textgate_alerts::Action;

use crate::forms::Fields;
use crate::state::{Ctx, WebError, WebState};

/// Who a handler admits, and what it gets to know about them.
pub trait Guard: Send + Sync + 'static {
    /// What the handler gets: the account, or nothing for a visitor.
    type Caller: Send;
    /// The scope a bearer token needs for this handler: the console's, but for sending
    /// texts (a library system's token is good for nothing else, and no console token
    /// sends texts).
    const SCOPE: TokenScope = TokenScope::Console;
    /// Admits the request's caller, or says why not (not signed in, or forbidden).
    fn admit(ctx: &Ctx) -> Result<Self::Caller, WebError>;
}

/// Admits the request's caller by `G`, after refusing a bearer token of another scope.
/// Both extractors (pages and API) admit through here.
pub(crate) fn admit<G: Guard>(ctx: &Ctx) -> Result<G::Caller, WebError> {
    match ctx.token {
        Some((_, scope)) if scope != G::SCOPE => Err(WebError::Forbidden(match scope {
            TokenScope::Send => "This token's scope is sending texts: it can send texts and read their status, nothing else.".to_string(),
            TokenScope::Console => "Sending texts needs a token whose scope is send; this token's scope is the console.".to_string(),
        })),
        _ => G::admit(ctx),
    }
}

/// Anyone, signed in or not (sign-in, sign-out); forms are still CSRF-checked.
pub struct Visitor;

impl Guard for Visitor {
    type Caller = ();
    fn admit(_: &Ctx) -> Result<(), WebError> {
        Ok(())
    }
}

/// Any signed-in account (API tokens, `/api/v1/me`).
pub struct SignedIn;

impl Guard for SignedIn {
    type Caller = Account;
    fn admit(ctx: &Ctx) -> Result<Account, WebError> {
        ctx.signed_in().cloned()
    }
}

/// Declares guards that admit a signed-in account allowed to do one [`Action`].
macro_rules! action_guards {
    ($($(#[$doc:meta])* $name:ident => $action:expr;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl Guard for $name {
            type Caller = Account;
            fn admit(ctx: &Ctx) -> Result<Account, WebError> {
                ctx.require($action).cloned()
            }
        }
    )*};
}

action_guards! {
    /// A member managing their own registration (every account).
    Member => Action::ManageOwnRegistration;
    /// The test desk: technical and emergency administrators (also the admin home and
    /// the compose counter).
    TestDesk => Action::SendTestToTesters;
    /// The emergency alert desk: emergency administrators.
    AlertDesk => Action::SendAlertToEveryone;
    /// Campaign progress and the send log.
    SendLog => Action::ViewSendLog;
    /// The logs page and the audit log.
    AuditLog => Action::ViewAuditLog;
    /// Managing accounts: technical and emergency administrators.
    AccountAdmin => Action::ManageUsers;
    /// Designating testers.
    TesterAdmin => Action::DesignateTesters;
    /// The SMS line's transcripts: transcript administrators.
    TranscriptAdmin => Action::ManageTranscripts;
    /// The webhook delivery log: technical and emergency administrators.
    WebhookLog => Action::ViewWebhookLog;
}

/// The send API: text senders (a library system's account), with a session or a token
/// whose scope is sending.
pub struct TextSender;

impl Guard for TextSender {
    type Caller = Account;
    const SCOPE: TokenScope = TokenScope::Send;
    fn admit(ctx: &Ctx) -> Result<Account, WebError> {
        ctx.require(Action::SendTexts).cloned()
    }
}

/// Whether a request may change something (and so needs a CSRF token).
pub(crate) fn changes_state(method: &Method) -> bool {
    method != Method::GET && method != Method::HEAD
}

/// A page request admitted by `G`, its form's CSRF token checked when it changes state.
pub struct Authorized<G: Guard> {
    pub ctx: Ctx,
    /// The caller `G` admitted (the signed-in account for every guard but [`Visitor`]).
    pub caller: G::Caller,
    /// The posted form (empty for GET).
    pub form: Fields,
    guard: PhantomData<G>,
}

impl<G: Guard> FromRequest<WebState> for Authorized<G> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        let form = if changes_state(&parts.method) {
            let form = Fields::from_request(Request::from_parts(parts, body), state).await?;
            ctx.check_csrf(form.get("csrf"))?;
            form
        } else {
            Fields::default()
        };
        let caller = admit::<G>(&ctx)?;
        Ok(Authorized {
            ctx,
            caller,
            form,
            guard: PhantomData,
        })
    }
}

impl<G: Guard> Authorized<G> {
    /// The request's context, its admitted caller and its form, for a handler that needs
    /// them apart (the context is mutable: rendering a page may open a session).
    pub fn into_parts(self) -> (Ctx, G::Caller, Fields) {
        (self.ctx, self.caller, self.form)
    }
}

impl<G: Guard<Caller = Account>> Authorized<G> {
    /// The signed-in account acting through this request, for the alert service.
    pub fn actor(&self) -> Actor<'_> {
        self.ctx.actor(&self.caller)
    }
}
