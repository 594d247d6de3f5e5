-- Webhooks learn the alert.published event: every real alert, update and all clear that
-- goes out is posted as its CAP 1.2 message to the webhooks that subscribe to it.
-- - webhook_deliveries.event accepts 'alert.published' (its subject_id is the alert's
--   alert_sends id). SQLite cannot change a CHECK, so the table is rebuilt with its rows,
--   ids and indexes.
-- - webhook_marks.alert_cursor: how far each webhook's enqueuer has read alert_sends.
--   Webhooks that exist already start after the newest send, as a new webhook does: an
--   upgrade does not post old alerts.
-- migrations/postgres/0112_webhook_alerts.sql does the same.
CREATE TABLE webhook_deliveries_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook         TEXT NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('text.received', 'text.delivered', 'text.failed', 'alert.published')),
    subject_id      INTEGER NOT NULL,
    payload         TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      DATETIME NOT NULL,
    delivered_at    DATETIME,
    UNIQUE (webhook, event, subject_id)
);
INSERT INTO webhook_deliveries_new
    SELECT id, webhook, event, subject_id, payload, state, attempts, next_attempt_at,
           last_status, last_error, created_at, delivered_at
    FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook, id);

ALTER TABLE webhook_marks ADD COLUMN alert_cursor INTEGER NOT NULL DEFAULT 0;
UPDATE webhook_marks SET alert_cursor = (SELECT COALESCE(MAX(id), 0) FROM alert_sends);
