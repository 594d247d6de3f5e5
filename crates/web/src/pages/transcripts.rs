//! The staff's transcripts desk (transcript administrators): a gateway's conversations and
//! daily figures over a date range, deleting transcripts or whole records, and the zip
//! download. Conversations and figures are read from the store (the transcripts'
//! service); deletions and downloads go through the alert service, which records them in
//! its audit log.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeDelta};
use serde_json::{json, Value};
use textgate_alert_service::transcripts::TranscriptPeriod;
use textgate_alert_service::{format_time, Actor};
use textgate_store::{Conversation, DailyStats, Deletion, Selection};

use super::{page, Message};
use crate::request::{Authorized, TranscriptAdmin};
use crate::state::{Ctx, WebError, WebState};

/// `?gateway=…&from=…&until=…` of the transcript page and the transcript API (all optional:
/// the first gateway, the last 30 days).
#[derive(Debug, serde::Deserialize)]
pub struct RangeQuery {
    pub(crate) gateway: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) until: Option<String>,
}

impl RangeQuery {
    /// The period asked for, checked against the configured gateways; see [`period`].
    pub(crate) fn resolve(&self, state: &WebState) -> Result<TranscriptPeriod, WebError> {
        period(
            state,
            self.gateway.as_deref(),
            self.from.as_deref(),
            self.until.as_deref(),
        )
    }
}

/// The gateway and the day range a transcript page works on, from the request's text:
/// the first configured gateway and the last 30 days unless given.
pub(crate) fn period(
    state: &WebState,
    gateway: Option<&str>,
    from: Option<&str>,
    until: Option<&str>,
) -> Result<TranscriptPeriod, WebError> {
    let known = state.alerts.settings().gateways();
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
    Ok(TranscriptPeriod {
        gateway,
        from,
        until,
    })
}

/// The gateway's conversations with any activity within the period, latest first.
pub(crate) async fn conversations(
    state: &WebState,
    period: &TranscriptPeriod,
) -> Result<Vec<Conversation>, WebError> {
    let all = state.store.conversations(&period.gateway).await?;
    Ok(all
        .into_iter()
        .filter(|c| c.last_activity >= period.start() && c.first_activity < period.end())
        .collect())
}

/// The gateway's figures for each day of the period that had any text.
pub(crate) async fn daily_stats(
    state: &WebState,
    period: &TranscriptPeriod,
) -> Result<Vec<DailyStats>, WebError> {
    Ok(state
        .store
        .daily_stats(&period.gateway, period.from, period.until)
        .await?)
}

/// One day's figures, the same on the page and in the API.
pub(crate) fn day_json(d: &DailyStats) -> Value {
    json!({ "day": d.day.to_string(), "conversations": d.conversations, "texts_in": d.texts_in, "texts_out": d.texts_out })
}

/// A conversation as a row of the transcript page's table (times as people read them).
fn conversation_row(c: &Conversation) -> Value {
    json!({ "id": c.id, "patron": c.patron_as_shown(), "first": format_time(c.first_activity), "last": format_time(c.last_activity), "texts_in": c.texts_in, "texts_out": c.texts_out })
}

/// `gateway=…&from=…&until=…`, percent-encoded.
fn export_query(period: &TranscriptPeriod) -> String {
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
        encode(&period.gateway),
        period.from,
        period.until
    )
}

async fn transcripts_page(
    state: &WebState,
    ctx: &mut Ctx,
    period: &TranscriptPeriod,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let conversations: Vec<Value> = conversations(state, period)
        .await?
        .iter()
        .map(conversation_row)
        .collect();
    let stats: Vec<Value> = daily_stats(state, period)
        .await?
        .iter()
        .map(day_json)
        .collect();
    let extra = json!({
        "gateways": state.alerts.settings().gateways(),
        "export_query": export_query(period),
        "gateway": period.gateway,
        "from": period.from.to_string(),
        "until": period.until.to_string(),
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
    Query(q): Query<RangeQuery>,
    request: Authorized<TranscriptAdmin>,
) -> Result<Response, WebError> {
    let mut ctx = request.ctx;
    let period = q.resolve(&state)?;
    transcripts_page(&state, &mut ctx, &period, Message::None, StatusCode::OK).await
}

pub async fn transcripts_delete(
    State(state): State<WebState>,
    request: Authorized<TranscriptAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, me, form) = request.into_parts();
    let period = period(
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
        period.selection()
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
                &period,
                Message::Error(
                    "Select at least one conversation, or choose the date range.".into(),
                ),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        Selection::Conversations {
            gateway: period.gateway.clone(),
            ids,
        }
    };
    let report = state
        .alerts
        .transcripts()
        .delete(&ctx.actor(&me), &selection, deletion)
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
    transcripts_page(&state, &mut ctx, &period, Message::Info(m), StatusCode::OK).await
}

pub async fn transcripts_export(
    State(state): State<WebState>,
    Query(q): Query<RangeQuery>,
    request: Authorized<TranscriptAdmin>,
) -> Result<Response, WebError> {
    export(&state, &request.actor(), &q).await
}

/// The zip download of the period `q` names, for the page and the API alike.
pub(crate) async fn export(
    state: &WebState,
    actor: &Actor<'_>,
    q: &RangeQuery,
) -> Result<Response, WebError> {
    let period = q.resolve(state)?;
    let zip = state.alerts.transcripts().export(actor, &period).await?;
    let safe_gateway: String = period
        .gateway
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let disposition = format!(
        "attachment; filename=\"transcripts-{safe_gateway}-{}-{}.zip\"",
        period.from, period.until
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
