-- Webhooks learn the alert.published event: every real alert, update and all clear that
-- goes out is posted as its CAP 1.2 message to the webhooks that subscribe to it.
-- - webhook_deliveries.event accepts 'alert.published' (its subject_id is the alert's
--   alert_sends id).
-- - webhook_marks.alert_cursor: how far each webhook's enqueuer has read alert_sends.
--   Webhooks that exist already start after the newest send, as a new webhook does: an
--   upgrade does not post old alerts.
-- migrations/sqlite/0112_webhook_alerts.sql does the same (SQLite rebuilds the table to
-- change its CHECK).
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_check
    CHECK (event IN ('text.received', 'text.delivered', 'text.failed', 'alert.published'));

ALTER TABLE webhook_marks ADD COLUMN alert_cursor BIGINT NOT NULL DEFAULT 0;
UPDATE webhook_marks SET alert_cursor = (SELECT COALESCE(MAX(id), 0) FROM alert_sends);
