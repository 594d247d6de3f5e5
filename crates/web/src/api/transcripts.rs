//! The transcripts through the JSON API: conversations and daily figures (read from the
//! store), the zip download and deletions (through the alert service, which audits them).

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use textgate_store::{Conversation, Deletion, Selection};

use super::{bad_request, ApiResult, Authorized, Body};
use crate::pages::transcripts::{
    conversations as period_conversations, daily_stats, day_json, export as export_zip, period,
    RangeQuery,
};
use crate::request::TranscriptAdmin;
use crate::state::WebState;

pub async fn conversations(
    State(state): State<WebState>,
    Query(q): Query<RangeQuery>,
    _request: Authorized<TranscriptAdmin>,
) -> ApiResult {
    let p = q.resolve(&state)?;
    let list: Vec<Value> = period_conversations(&state, &p)
        .await?
        .iter()
        .map(conversation_json)
        .collect();
    Ok(Json(json!({ "gateway": p.gateway, "conversations": list })).into_response())
}

pub async fn stats(
    State(state): State<WebState>,
    Query(q): Query<RangeQuery>,
    _request: Authorized<TranscriptAdmin>,
) -> ApiResult {
    let p = q.resolve(&state)?;
    let days: Vec<Value> = daily_stats(&state, &p)
        .await?
        .iter()
        .map(day_json)
        .collect();
    Ok(Json(json!({ "gateway": p.gateway, "days": days })).into_response())
}

/// A conversation in the API (times in RFC 3339).
fn conversation_json(c: &Conversation) -> Value {
    json!({ "id": c.id, "patron": c.patron_as_shown(), "first_activity": c.first_activity, "last_activity": c.last_activity, "texts_in": c.texts_in, "texts_out": c.texts_out })
}

pub async fn export(
    State(state): State<WebState>,
    Query(q): Query<RangeQuery>,
    request: Authorized<TranscriptAdmin>,
) -> ApiResult {
    Ok(export_zip(&state, &request.actor(), &q).await?)
}

#[derive(Deserialize)]
pub struct DeleteBody {
    // Not a flattened `RangeQuery`: serde's flatten would drop the field's name from the
    // error for a wrongly typed value.
    gateway: Option<String>,
    from: Option<String>,
    until: Option<String>,
    /// Conversation ids; without them the whole date range.
    ids: Option<Vec<i64>>,
    /// `transcripts` (default) or `records`.
    what: Option<String>,
}

pub async fn delete(
    State(state): State<WebState>,
    request: Authorized<TranscriptAdmin>,
    Body(b): Body<DeleteBody>,
) -> ApiResult {
    let p = period(
        &state,
        b.gateway.as_deref(),
        b.from.as_deref(),
        b.until.as_deref(),
    )?;
    let deletion = match b.what.as_deref() {
        None | Some("transcripts") => Deletion::Transcripts,
        Some("records") => Deletion::Records,
        Some(_) => return Err(bad_request("what must be \"transcripts\" or \"records\"")),
    };
    let selection = match b.ids {
        Some(ids) => Selection::Conversations {
            gateway: p.gateway.clone(),
            ids,
        },
        None => p.selection(),
    };
    let report = state
        .alerts
        .transcripts()
        .delete(&request.actor(), &selection, deletion)
        .await?;
    Ok(
        Json(json!({ "texts": report.texts, "conversations": report.conversations }))
            .into_response(),
    )
}
