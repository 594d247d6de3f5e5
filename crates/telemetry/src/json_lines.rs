//! [`JsonLines`]: one flat JSON object per log event, the event's fields merged with the
//! fields of every span it happened in.
//!
//! tracing-subscriber's own JSON format nests span fields under `span` and `spans`, so
//! finding every line about one text would need a query that searches three places.
//! Here a span's `inbound = 7` becomes a top-level `"inbound":7` on each line logged
//! inside it, exactly like an event's own field, and `jq 'select(.inbound == 7)'` finds
//! them all. Inner spans override outer ones, and the event's own fields override both
//! (a field recorded twice says the most specific thing last).
//!
//! Integers stay JSON numbers, so ids compare as numbers in a query; `%value` and
//! `?value` fields become strings.

use std::io::Write;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The layer: writes each event as one line to what `make_writer` makes.
pub struct JsonLines<W> {
    make_writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(make_writer: W) -> JsonLines<W> {
        JsonLines { make_writer }
    }
}

/// Field names and values in the order they were first recorded; a name recorded again
/// keeps its place and takes the new value.
#[derive(Debug, Default, Clone)]
struct Fields(Vec<(&'static str, Value)>);

impl Fields {
    fn set(&mut self, name: &'static str, value: Value) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    fn merge(&mut self, other: &Fields) {
        for (name, value) in &other.0 {
            self.set(name, value.clone());
        }
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let at = self.0.iter().position(|(n, _)| *n == name)?;
        Some(self.0.remove(at).1)
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name(), Value::from(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        let value = i64::try_from(value)
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(value.to_string()));
        self.set(field.name(), value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let value = u64::try_from(value)
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(value.to_string()));
        self.set(field.name(), value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field.name(), Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `message` arrives as format arguments, whose Debug is their Display.
        self.set(field.name(), Value::from(format!("{value:?}")));
    }
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<Fields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<Fields>() {
                    fields.merge(span_fields);
                }
            }
        }
        let mut own = Fields::default();
        event.record(&mut own);
        fields.merge(&own);
        let mut line = render(event.metadata(), fields);
        line.push('\n');
        // A log line that cannot be written has nowhere else to go.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// The line for one event: time, level, target and message first, then the fields.
fn render(metadata: &tracing::Metadata<'_>, mut fields: Fields) -> String {
    let message = fields.take("message").unwrap_or(Value::from(""));
    // Records from the `log` crate (through tracing-log) carry their origin as fields.
    let target = match fields.take("log.target") {
        Some(Value::String(target)) => target,
        _ => metadata.target().to_owned(),
    };
    for origin in ["log.module_path", "log.file", "log.line"] {
        fields.take(origin);
    }
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    // Written by hand rather than through a map, so the fixed keys come first whatever
    // order serde_json's map keeps; the fields follow in the order they were recorded,
    // so a line reads like the code that logged it.
    let mut out = String::from("{");
    for (name, value) in [
        ("timestamp", Value::from(timestamp)),
        ("level", Value::from(metadata.level().as_str())),
        ("target", Value::from(target)),
        ("message", message),
    ] {
        push_field(&mut out, name, &value);
    }
    for (name, value) in fields.0 {
        if matches!(name, "timestamp" | "level" | "target") {
            continue;
        }
        push_field(&mut out, name, &value);
    }
    out.push('}');
    out
}

fn push_field(out: &mut String, name: &str, value: &Value) {
    if out.len() > 1 {
        out.push(',');
    }
    out.push_str(&Value::from(name).to_string());
    out.push(':');
    out.push_str(&value.to_string());
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Everything the layer wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines logged by `f`, each checked to be one JSON object, with its timestamp
    /// (which changes every run) cut out.
    fn lines(f: impl FnOnce()) -> Vec<String> {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            tracing_subscriber::registry().with(JsonLines::new(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, f);
        let bytes = captured.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| {
                let parsed: Result<serde_json::Map<String, Value>, _> = serde_json::from_str(line);
                assert!(parsed.is_ok(), "not a JSON object: {line:?}");
                let level = line.find(",\"level\"");
                assert!(
                    line.starts_with("{\"timestamp\":\"") && level.is_some(),
                    "{line}"
                );
                format!("{{{}", &line[level.map_or(0, |at| at + 1)..])
            })
            .collect()
    }

    #[test]
    fn span_fields_are_top_level_keys_of_every_line_inside_the_span() {
        let lines = lines(|| {
            let gateway = tracing::info_span!("gateway", gateway = "library");
            let _gateway = gateway.enter();
            tracing::info!("outside the text");
            let received =
                tracing::info_span!("received", slot = 3_u32, inbound = tracing::field::Empty);
            let _received = received.enter();
            tracing::info!(part = 12, "part stored");
            received.record("inbound", 7_i64);
            tracing::warn!(stanza = %"tg-in-7-1", operator = ?"alice", "text sent");
            tracing::info!(slot = 4_u32, "the event's own field wins");
        });
        expect_test::expect![[r#"
            [
                "{\"level\":\"INFO\",\"target\":\"textgate_telemetry::json_lines::tests\",\"message\":\"outside the text\",\"gateway\":\"library\"}",
                "{\"level\":\"INFO\",\"target\":\"textgate_telemetry::json_lines::tests\",\"message\":\"part stored\",\"gateway\":\"library\",\"slot\":3,\"part\":12}",
                "{\"level\":\"WARN\",\"target\":\"textgate_telemetry::json_lines::tests\",\"message\":\"text sent\",\"gateway\":\"library\",\"slot\":3,\"inbound\":7,\"stanza\":\"tg-in-7-1\",\"operator\":\"\\\"alice\\\"\"}",
                "{\"level\":\"INFO\",\"target\":\"textgate_telemetry::json_lines::tests\",\"message\":\"the event's own field wins\",\"gateway\":\"library\",\"slot\":4,\"inbound\":7}",
            ]
        "#]]
        .assert_debug_eq(&lines);
    }

    #[test]
    fn a_span_entered_elsewhere_brings_its_fields_along() {
        // The modem driver deletes a message under the span the runtime acknowledged it in.
        let lines = lines(|| {
            let text = tracing::info_span!("received", inbound = 9_i64);
            let deletion = tracing::info_span!(parent: None, "modem", device = "/dev/ttyUSB0");
            let _deletion = deletion.enter();
            text.in_scope(|| tracing::info!(slot = 2_u32, "stored message deleted"));
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(r#""inbound":9,"slot":2"#), "{lines:?}");
    }
}
