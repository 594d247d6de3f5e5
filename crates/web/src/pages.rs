//! The HTML pages and their forms. Every handler checks the role on the server and every
//! POST checks the CSRF token before doing anything else.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Days, NaiveDate, NaiveTime, TimeDelta};
use serde_json::{json, Map, Value};
use textgate_alerts::{Action, Role, Roles};
use textgate_store::{Conversation, DailyStats, Deletion, Selection};

use crate::accounts::{create_account, role_label, roles_label};
use crate::auth::{clear_cookie, create_session, session_cookie, verify_password};
use crate::campaigns::{self, composer};
use crate::db::accounts::{parse_role, role_name};
use crate::db::{Account, Audience, YearlyTest};
use crate::forms::Fields;
use crate::members::{self, format_time, MemberAction};
use crate::state::{Ctx, WebError, WebState};

/// A message shown at the top of a page.
pub(crate) enum Message {
    None,
    Info(String),
    Error(String),
}

/// Renders `template` with the common context (account, navigation, CSRF token, message).
pub(crate) async fn page(
    state: &WebState,
    ctx: &mut Ctx,
    template: &str,
    title: &str,
    extra: Value,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let csrf = ctx.csrf_token(state).await?;
    let mut map = Map::new();
    map.insert("title".into(), json!(title));
    map.insert("csrf".into(), json!(csrf));
    if let Some(a) = &ctx.account {
        map.insert("account".into(), json!({ "email": a.email }));
        map.insert(
            "nav".into(),
            json!({
                "admin": a.roles.has(Role::TechnicalAdministrator) || a.roles.has(Role::EmergencyAdministrator),
                "transcripts": a.roles.has(Role::TranscriptAdministrator),
                "accounts": textgate_alerts::authorize(&a.roles, Action::ManageUsers).is_ok(),
            }),
        );
    }
    match message {
        Message::None => {}
        Message::Info(m) => {
            map.insert("message".into(), json!(m));
            map.insert("message_kind".into(), json!("info"));
        }
        Message::Error(m) => {
            map.insert("message".into(), json!(m));
            map.insert("message_kind".into(), json!("error"));
        }
    }
    if let Value::Object(extra) = extra {
        map.extend(extra);
    }
    let html = state
        .templates
        .render(template, minijinja::Value::from_serialize(&map))?;
    Ok(ctx.finish((status, html)))
}

/// A user's mistake becomes an error message on the page; anything else propagates.
pub(crate) fn split(result: Result<String, WebError>) -> Result<(Message, StatusCode), WebError> {
    match result {
        Ok(m) => Ok((Message::Info(m), StatusCode::OK)),
        Err(WebError::BadRequest(m)) => Ok((Message::Error(m), StatusCode::BAD_REQUEST)),
        Err(e) => Err(e),
    }
}

pub async fn root(ctx: Ctx) -> Response {
    match ctx.account {
        Some(_) => Redirect::to("/alerts").into_response(),
        None => Redirect::to("/signin").into_response(),
    }
}

// ---- sign-in -------------------------------------------------------------------------

pub async fn signin_page(
    State(state): State<WebState>,
    mut ctx: Ctx,
) -> Result<Response, WebError> {
    if ctx.account.is_some() {
        return Ok(Redirect::to("/alerts").into_response());
    }
    page(
        &state,
        &mut ctx,
        "signin.html",
        "Sign in",
        json!({ "email": "" }),
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn signin(
    State(state): State<WebState>,
    mut ctx: Ctx,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let email = form.text("email").trim().to_lowercase();
    let password = form.text("password");
    let now = state.now();
    let limit = state.settings.signin_limit;
    let (by_account, by_address) = state
        .db
        .signin_failures_since(&email, &ctx.ip, now - limit.window)
        .await?;
    if by_account >= limit.per_account || by_address >= limit.per_address {
        let m = format!(
            "Too many failed sign-ins. Wait {} minutes and try again.",
            limit.window.num_minutes()
        );
        return page(
            &state,
            &mut ctx,
            "signin.html",
            "Sign in",
            json!({ "email": email }),
            Message::Error(m),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let found = state.db.account_for_signin(&email).await?;
    let account = match &found {
        Some((account, hash)) if verify_password(password, hash) => Some(account.clone()),
        Some(_) => None,
        None => {
            // Same work as for a real account, so timing does not tell which exist.
            verify_password(password, &state.dummy_hash);
            None
        }
    };
    let Some(account) = account else {
        state.db.record_signin_failure(&email, &ctx.ip, now).await?;
        return page(
            &state,
            &mut ctx,
            "signin.html",
            "Sign in",
            json!({ "email": email }),
            Message::Error("The e-mail address or the password is wrong.".into()),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    };
    // A new session for the signed-in account; the anonymous one (whose id an attacker
    // may have planted) is deleted.
    if let Some(old) = &ctx.session {
        state.db.delete_session(&old.token_hash).await?;
    }
    state.db.delete_expired_sessions(now).await?;
    let lifetime = state.settings.session_lifetime;
    let created = create_session(&state.db, Some(account.id), now, lifetime).await?;
    let cookie = session_cookie(
        &created.token,
        state.settings.cookie,
        lifetime.num_seconds(),
    );
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/alerts".to_string()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

pub async fn signout(
    State(state): State<WebState>,
    ctx: Ctx,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    if let Some(s) = &ctx.session {
        state.db.delete_session(&s.token_hash).await?;
    }
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/signin".to_string()),
            (header::SET_COOKIE, clear_cookie(state.settings.cookie)),
        ],
    )
        .into_response())
}

// ---- member page -----------------------------------------------------------------------

async fn member_page(
    state: &WebState,
    ctx: &mut Ctx,
    account: &Account,
    number: &str,
    carrier: Option<&str>,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let saved = members::saved_view(state, account).await?;
    let today = state.now().date_naive();
    let carriers: Vec<Value> = state
        .settings
        .carriers
        .offered_on(today)
        .map(|c| json!({ "id": c.id, "name": c.name }))
        .collect();
    let carrier = carrier
        .map(str::to_string)
        .or_else(|| saved.as_ref().and_then(|s| s.carrier.clone()))
        .unwrap_or_default();
    let extra = json!({
        "review_due": saved.as_ref().is_some_and(|s| s.review_due),
        "last_updated": saved.as_ref().map(|s| s.last_updated.clone()),
        "saved": saved,
        "number": number,
        "carrier": carrier,
        "carriers": carriers,
    });
    page(
        state,
        ctx,
        "member.html",
        "Emergency text alerts",
        extra,
        message,
        status,
    )
    .await
}

pub async fn member_get(State(state): State<WebState>, mut ctx: Ctx) -> Result<Response, WebError> {
    let account = ctx.require(Action::ManageOwnRegistration)?.clone();
    member_page(
        &state,
        &mut ctx,
        &account,
        "",
        None,
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn member_post(
    State(state): State<WebState>,
    mut ctx: Ctx,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let account = ctx.require(Action::ManageOwnRegistration)?.clone();
    let Some(action) = MemberAction::parse(form.text("action")) else {
        return Err(WebError::BadRequest("Unknown button.".into()));
    };
    let number = form.text("number");
    let carrier = form.get("carrier");
    let result = match action {
        MemberAction::Remove => members::remove(&state, &account).await,
        _ => members::save(&state, &account, &ctx.ip, number, carrier, action).await,
    };
    let (message, status) = split(result)?;
    // After a success the form shows the saved (masked) details, not the typed number.
    let keep = if status == StatusCode::OK { "" } else { number };
    member_page(&state, &mut ctx, &account, keep, carrier, message, status).await
}

pub async fn member_confirm(
    State(state): State<WebState>,
    mut ctx: Ctx,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let account = ctx.require(Action::ManageOwnRegistration)?.clone();
    let (message, status) =
        split(members::confirm_code(&state, &account, form.text("code")).await)?;
    member_page(&state, &mut ctx, &account, "", None, message, status).await
}

// ---- administrators --------------------------------------------------------------------

/// The two compose desks: separate URLs, forms and role checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desk {
    Test,
    Alert,
}

impl Desk {
    fn action(self) -> Action {
        match self {
            Desk::Test => Action::SendTestToTesters,
            Desk::Alert => Action::SendAlertToEveryone,
        }
    }
    fn base(self) -> &'static str {
        match self {
            Desk::Test => "/admin/test",
            Desk::Alert => "/admin/alert",
        }
    }
    fn audience(self) -> Audience {
        match self {
            Desk::Test => Audience::Testers,
            Desk::Alert => Audience::Everyone,
        }
    }
    fn heading(self) -> &'static str {
        match self {
            Desk::Test => "Compose a test message",
            Desk::Alert => "Compose an emergency alert",
        }
    }
    fn instructions(self) -> &'static str {
        match self {
            Desk::Test => "This goes to the designated testers only. Say clearly that it is a test and not a real emergency.",
            Desk::Alert => "This goes to everyone. You can send more than one message, but a second or third may be delayed by the phone traffic the first one causes: put what matters most in this one.",
        }
    }
}

pub async fn admin_home(State(state): State<WebState>, mut ctx: Ctx) -> Result<Response, WebError> {
    let account = ctx.require(Action::SendTestToTesters)?.clone();
    let extra = json!({
        "emergency": account.roles.has(Role::EmergencyAdministrator),
        "testers": state.db.count_recipients(Audience::Testers).await?,
        "members": state.db.count_recipients(Audience::Everyone).await?,
    });
    page(
        &state,
        &mut ctx,
        "admin.html",
        "Send alerts",
        extra,
        Message::None,
        StatusCode::OK,
    )
    .await
}

fn yearly_from(form: &Fields) -> Result<Option<YearlyTest>, WebError> {
    let description = form.text("yearly_description").trim().to_string();
    if description.is_empty() {
        return Ok(None);
    }
    let date = form.text("yearly_date").trim();
    let time = form.text("yearly_time").trim();
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| WebError::BadRequest("The yearly test needs a date (YYYY-MM-DD).".into()))?;
    let time = NaiveTime::parse_from_str(time, "%H:%M")
        .map_err(|_| WebError::BadRequest("The yearly test needs a time (HH:MM).".into()))?;
    if description.chars().count() > 500 {
        return Err(WebError::BadRequest(
            "The yearly test description is longer than 500 characters.".into(),
        ));
    }
    Ok(Some(YearlyTest {
        description,
        date: date.format("%Y-%m-%d").to_string(),
        time: time.format("%H:%M").to_string(),
        announced: form.get("yearly_announced") == Some("yes"),
    }))
}

async fn compose_page(
    state: &WebState,
    ctx: &mut Ctx,
    desk: Desk,
    text: &str,
    yearly: Option<YearlyTest>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let report = composer(state).measure(text);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let extra = json!({
        "heading": desk.heading(),
        "instructions": desk.instructions(),
        "base": desk.base(),
        "text": text,
        "report": report,
        "limits": state.settings.compose_limits,
        "errors": errors,
        "yearly": if desk == Desk::Test { Some(yearly.unwrap_or(YearlyTest { description: String::new(), date: String::new(), time: String::new(), announced: false })) } else { None },
    });
    page(
        state,
        ctx,
        "compose.html",
        desk.heading(),
        extra,
        Message::None,
        status,
    )
    .await
}

pub async fn compose_get(
    State(state): State<WebState>,
    mut ctx: Ctx,
    desk: Desk,
) -> Result<Response, WebError> {
    ctx.require(desk.action())?;
    compose_page(&state, &mut ctx, desk, "", None, Vec::new()).await
}

pub async fn compose_confirm(
    State(state): State<WebState>,
    mut ctx: Ctx,
    desk: Desk,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    ctx.require(desk.action())?;
    let text = form.text("text");
    let yearly = match yearly_from(&form) {
        Ok(y) => y,
        Err(e) => {
            return compose_page(&state, &mut ctx, desk, text, None, vec![e.public_message()]).await
        }
    };
    let validated = match composer(&state).validate(text) {
        Ok(v) => v,
        Err(e) => {
            return compose_page(&state, &mut ctx, desk, text, yearly, vec![format!("{e}.")]).await
        }
    };
    let preview = campaigns::preview(&state, desk.audience(), validated.report.parts).await?;
    let split = composer(&state).split_at_safe_length(&validated.text);
    let extra = json!({
        "heading": match desk { Desk::Test => "Confirm the test message", Desk::Alert => "Confirm the emergency alert" },
        "base": desk.base(),
        "text": validated.text,
        "within": split.within,
        "beyond": split.beyond,
        "safe_length": state.settings.compose_limits.safe_length,
        "report": validated.report,
        "recipients": preview.recipients,
        "unreachable": preview.unreachable,
        "audience": match desk { Desk::Test => "testers", Desk::Alert => "members" },
        "eta": textgate_alerts::campaign::describe_duration(preview.plan.estimated_duration()),
        "modems": state.settings.modems.len(),
        "warnings": preview.warnings,
        "yearly": yearly,
    });
    page(
        &state,
        &mut ctx,
        "confirm.html",
        "Confirm",
        extra,
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn compose_send(
    State(state): State<WebState>,
    mut ctx: Ctx,
    desk: Desk,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let account = ctx.require(desk.action())?.clone();
    let text = form.text("text");
    let yearly = yearly_from(&form).ok().flatten();
    if form.get("action") != Some("send") {
        return compose_page(&state, &mut ctx, desk, text, yearly, Vec::new()).await;
    }
    // Checked again: the confirm page's hidden field is as untrusted as the textarea.
    if let Err(e) = composer(&state).validate(text) {
        return compose_page(&state, &mut ctx, desk, text, yearly, vec![format!("{e}.")]).await;
    }
    let id = campaigns::start(&state, &account, desk.audience(), text, yearly.as_ref()).await?;
    state
        .db
        .audit(
            Some(account.id),
            &account.email,
            &ctx.ip,
            match desk {
                Desk::Test => "send-test",
                Desk::Alert => "send-alert",
            },
            &format!("campaign {id}: {text}"),
            state.now(),
        )
        .await?;
    Ok(Redirect::to(&format!("/admin/campaigns/{id}")).into_response())
}

pub async fn campaign_page(
    State(state): State<WebState>,
    mut ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    ctx.require(Action::ViewSendLog)?;
    let send = state.db.send(id).await?.ok_or(WebError::NotFound)?;
    let p = campaigns::progress(&state, &send).await?;
    let extra = json!({
        "heading": format!("Campaign {id}: {}", if send.kind == crate::db::SendKind::Real { "emergency alert" } else { "test" }),
        "send": send,
        "percent": p.percent,
        "total": p.total,
        "counts": p.counts,
        "eta": p.eta,
        "enqueued": p.enqueued,
        "state": p.state,
        "in_outbox": p.in_outbox,
        "unreachable": p.unreachable,
        "confirmed_at": format_time(send.confirmed_at),
    });
    page(
        &state,
        &mut ctx,
        "progress.html",
        "Campaign progress",
        extra,
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn logs_page(State(state): State<WebState>, mut ctx: Ctx) -> Result<Response, WebError> {
    ctx.require(Action::ViewAuditLog)?;
    let sends: Vec<Value> = state
        .db
        .send_log(200)
        .await?
        .into_iter()
        .map(|s| json!({ "id": s.id, "confirmed_at": format_time(s.confirmed_at), "kind": s.kind, "account_email": s.account_email, "body": s.body, "recipients": s.recipients, "yearly_test": s.yearly_test }))
        .collect();
    let mut tests = Vec::new();
    for t in state.db.test_log(200).await? {
        let ctx_t = textgate_alerts::cipher::FieldContext::new(
            textgate_alerts::cipher::FieldPurpose::TestLogNumber,
            t.test_id.to_string(),
        );
        let masked = t
            .number_enc
            .parse::<textgate_alerts::EncryptedField>()
            .ok()
            .and_then(|f| state.settings.cipher.decrypt(&f, &ctx_t).ok())
            .map(|n| textgate_alerts::mask(&n))
            .unwrap_or_else(|| "(unreadable)".to_string());
        tests.push(json!({ "test_id": t.test_id, "sent_at": format_time(t.sent_at), "account_id": t.account_id, "ip_address": t.ip_address, "gateway": t.gateway, "masked": masked }));
    }
    let audit: Vec<Value> = state
        .db
        .audit_log(200)
        .await?
        .into_iter()
        .map(|a| json!({ "at": format_time(a.at), "account_email": a.account_email, "ip_address": a.ip_address, "action": a.action, "detail": a.detail }))
        .collect();
    page(
        &state,
        &mut ctx,
        "logs.html",
        "Logs",
        json!({ "sends": sends, "tests": tests, "audit": audit }),
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn accounts_page(
    state: &WebState,
    ctx: &mut Ctx,
    me: &Account,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let accounts: Vec<Value> = state
        .db
        .accounts()
        .await?
        .into_iter()
        .map(|a| json!({ "id": a.id, "email": a.email, "tester": a.tester, "roles": roles_label(&a.roles), "yourself": a.id == me.id }))
        .collect();
    let grantable: Vec<Value> = Role::ALL
        .into_iter()
        .filter(|r| textgate_alerts::authorize(&me.roles, Action::GrantRole(*r)).is_ok())
        .map(|r| json!({ "name": role_name(r), "label": role_label(r) }))
        .collect();
    page(
        state,
        ctx,
        "accounts.html",
        "Accounts",
        json!({ "accounts": accounts, "grantable": grantable }),
        message,
        status,
    )
    .await
}

pub async fn accounts_get(
    State(state): State<WebState>,
    mut ctx: Ctx,
) -> Result<Response, WebError> {
    let me = ctx.require(Action::ManageUsers)?.clone();
    accounts_page(&state, &mut ctx, &me, Message::None, StatusCode::OK).await
}

pub async fn accounts_post(
    State(state): State<WebState>,
    mut ctx: Ctx,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let me = ctx.require(Action::ManageUsers)?.clone();
    let mut roles = Vec::new();
    for name in form.all("role") {
        let role = parse_role(name)
            .ok_or_else(|| WebError::BadRequest(format!("Unknown role {name:?}.")))?;
        textgate_alerts::authorize(&me.roles, Action::GrantRole(role))?;
        roles.push(role);
    }
    let email = form.text("email").trim().to_lowercase();
    let result = create_account(
        &state,
        &email,
        form.text("password"),
        Roles::new(roles.clone()),
    )
    .await
    .map(|id| format!("Account {email} created (id {id})."));
    if result.is_ok() {
        let detail = format!(
            "{email}: {}",
            roles
                .iter()
                .map(|r| role_name(*r))
                .collect::<Vec<_>>()
                .join(",")
        );
        state
            .db
            .audit(
                Some(me.id),
                &me.email,
                &ctx.ip,
                "create-account",
                &detail,
                state.now(),
            )
            .await?;
    }
    let (message, status) = split(result)?;
    accounts_page(&state, &mut ctx, &me, message, status).await
}

pub async fn tester_post(
    State(state): State<WebState>,
    mut ctx: Ctx,
    Path(id): Path<i64>,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let me = ctx.require(Action::DesignateTesters)?.clone();
    let tester = form.get("tester") == Some("yes");
    if !state.db.set_tester(id, tester).await? {
        return Err(WebError::NotFound);
    }
    state
        .db
        .audit(
            Some(me.id),
            &me.email,
            &ctx.ip,
            if tester {
                "designate-tester"
            } else {
                "remove-tester"
            },
            &format!("account {id}"),
            state.now(),
        )
        .await?;
    accounts_page(
        &state,
        &mut ctx,
        &me,
        Message::Info("Tester list updated.".into()),
        StatusCode::OK,
    )
    .await
}

// ---- transcripts -----------------------------------------------------------------------

/// `?gateway=…&from=…&until=…` of the transcript page and the transcript API (all optional:
/// the first gateway, the last 30 days).
#[derive(Debug, serde::Deserialize)]
pub struct RangeQuery {
    pub(crate) gateway: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) until: Option<String>,
}

impl RangeQuery {
    /// The range asked for, checked against the configured gateways; see [`range`].
    pub(crate) fn resolve(&self, state: &WebState) -> Result<Range, WebError> {
        range(
            state,
            self.gateway.as_deref(),
            self.from.as_deref(),
            self.until.as_deref(),
        )
    }
}

/// The gateway and the day range `[from, until]` a transcript page works on.
pub(crate) struct Range {
    pub gateway: String,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

pub(crate) fn gateways(state: &WebState) -> Vec<String> {
    let mut names: Vec<String> = state
        .settings
        .modems
        .iter()
        .map(|m| m.gateway.clone())
        .collect();
    names.dedup();
    names
}

pub(crate) fn range(
    state: &WebState,
    gateway: Option<&str>,
    from: Option<&str>,
    until: Option<&str>,
) -> Result<Range, WebError> {
    let known = gateways(state);
    let gateway = match gateway.filter(|g| !g.is_empty()) {
        Some(g) if known.iter().any(|k| k == g) => g.to_string(),
        Some(_) => return Err(WebError::BadRequest("Unknown gateway.".into())),
        None => known
            .first()
            .cloned()
            .ok_or_else(|| WebError::BadRequest("No gateway is configured.".into()))?,
    };
    let today = state.now().date_naive();
    let day = |text: Option<&str>, default: NaiveDate| -> Result<NaiveDate, WebError> {
        match text.filter(|t| !t.is_empty()) {
            None => Ok(default),
            Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| WebError::BadRequest(format!("{t:?} is not a date (YYYY-MM-DD)."))),
        }
    };
    let from = day(from, today - TimeDelta::days(30))?;
    let until = day(until, today)?;
    if until < from {
        return Err(WebError::BadRequest(
            "The end date is before the start date.".into(),
        ));
    }
    Ok(Range {
        gateway,
        from,
        until,
    })
}

impl Range {
    pub(crate) fn start(&self) -> chrono::DateTime<chrono::Utc> {
        self.from.and_time(NaiveTime::MIN).and_utc()
    }
    pub(crate) fn end(&self) -> chrono::DateTime<chrono::Utc> {
        self.until
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX)
            .and_time(NaiveTime::MIN)
            .and_utc()
    }
    pub(crate) fn selection(&self) -> Selection {
        Selection::Period {
            gateway: self.gateway.clone(),
            from: self.start(),
            until: self.end(),
        }
    }

    /// The gateway's conversations with any activity within the range, latest first.
    pub(crate) async fn conversations(
        &self,
        state: &WebState,
    ) -> Result<Vec<Conversation>, WebError> {
        let all = state.store.conversations(&self.gateway).await?;
        Ok(all
            .into_iter()
            .filter(|c| c.last_activity >= self.start() && c.first_activity < self.end())
            .collect())
    }

    /// The gateway's figures for each day of the range that had any text.
    pub(crate) async fn daily_stats(&self, state: &WebState) -> Result<Vec<DailyStats>, WebError> {
        Ok(state
            .store
            .daily_stats(&self.gateway, self.from, self.until)
            .await?)
    }
}

/// One day's figures, the same on the page and in the API.
pub(crate) fn day_json(d: &DailyStats) -> Value {
    json!({ "day": d.day.to_string(), "conversations": d.conversations, "texts_in": d.texts_in, "texts_out": d.texts_out })
}

/// A conversation as a row of the transcript page's table (times as people read them).
fn conversation_row(c: &Conversation) -> Value {
    json!({ "id": c.id, "patron": c.patron, "first": format_time(c.first_activity), "last": format_time(c.last_activity), "texts_in": c.texts_in, "texts_out": c.texts_out })
}

/// `gateway=…&from=…&until=…`, percent-encoded.
fn export_query(range: &Range) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "gateway={}&from={}&until={}",
        encode(&range.gateway),
        range.from,
        range.until
    )
}

async fn transcripts_page(
    state: &WebState,
    ctx: &mut Ctx,
    range: &Range,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let conversations: Vec<Value> = range
        .conversations(state)
        .await?
        .iter()
        .map(conversation_row)
        .collect();
    let stats: Vec<Value> = range
        .daily_stats(state)
        .await?
        .iter()
        .map(day_json)
        .collect();
    let extra = json!({
        "gateways": gateways(state),
        "export_query": export_query(range),
        "gateway": range.gateway,
        "from": range.from.to_string(),
        "until": range.until.to_string(),
        "conversations": conversations,
        "stats": stats,
    });
    page(
        state,
        ctx,
        "transcripts.html",
        "Transcripts",
        extra,
        message,
        status,
    )
    .await
}

pub async fn transcripts_get(
    State(state): State<WebState>,
    mut ctx: Ctx,
    Query(q): Query<RangeQuery>,
) -> Result<Response, WebError> {
    ctx.require(Action::ManageTranscripts)?;
    let range = q.resolve(&state)?;
    transcripts_page(&state, &mut ctx, &range, Message::None, StatusCode::OK).await
}

pub async fn transcripts_delete(
    State(state): State<WebState>,
    mut ctx: Ctx,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let me = ctx.require(Action::ManageTranscripts)?.clone();
    let range = range(
        &state,
        form.get("gateway"),
        form.get("from"),
        form.get("until"),
    )?;
    let deletion = match form.text("what") {
        "records" => Deletion::Records,
        _ => Deletion::Transcripts,
    };
    let selection = if form.get("scope") == Some("period") {
        range.selection()
    } else {
        let mut ids = Vec::new();
        for id in form.all("id") {
            ids.push(id.parse::<i64>().map_err(|_| {
                WebError::BadRequest("A selected conversation id is not a number.".into())
            })?);
        }
        if ids.is_empty() {
            return transcripts_page(
                &state,
                &mut ctx,
                &range,
                Message::Error(
                    "Select at least one conversation, or choose the date range.".into(),
                ),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        Selection::Conversations {
            gateway: range.gateway.clone(),
            ids,
        }
    };
    let report = state.store.delete(&selection, deletion).await?;
    let what = match deletion {
        Deletion::Transcripts => "transcripts",
        Deletion::Records => "records",
    };
    let detail = format!(
        "{what} of {selection:?}: {} texts, {} conversations",
        report.texts, report.conversations
    );
    state
        .db
        .audit(
            Some(me.id),
            &me.email,
            &ctx.ip,
            "delete-transcripts",
            &detail,
            state.now(),
        )
        .await?;
    let m = match deletion {
        Deletion::Transcripts => format!(
            "Erased the text of {} message(s); the records stay for statistics.",
            report.texts
        ),
        Deletion::Records => format!(
            "Deleted {} message(s) and {} conversation(s).",
            report.texts, report.conversations
        ),
    };
    transcripts_page(&state, &mut ctx, &range, Message::Info(m), StatusCode::OK).await
}

pub async fn transcripts_export(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let me = ctx.require(Action::ManageTranscripts)?.clone();
    let range = q.resolve(&state)?;
    let zip = state.store.export_transcripts(&range.selection()).await?;
    state
        .db
        .audit(
            Some(me.id),
            &me.email,
            &ctx.ip,
            "export-transcripts",
            &format!("{} {}..{}", range.gateway, range.from, range.until),
            state.now(),
        )
        .await?;
    let safe_gateway: String = range
        .gateway
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let disposition = format!(
        "attachment; filename=\"transcripts-{safe_gateway}-{}-{}.zip\"",
        range.from, range.until
    );
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        zip,
    )
        .into_response())
}
