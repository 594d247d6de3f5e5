-- Scheduled tests (docs/alerts.md, "Scheduled tests"): a test message to the testers at a
-- set time, once or again every repeat_days days. The service's minute job starts each
-- one that is due, as the administrator who scheduled it, and moves next_at on in the
-- same update that claims it, so two daemons (or a restart) never start it twice.
CREATE TABLE alert_schedules (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL,
    account_email    TEXT NOT NULL,
    body             TEXT NOT NULL,
    next_at          DATETIME NOT NULL,
    repeat_days      INTEGER,
    state            TEXT NOT NULL CHECK (state IN ('scheduled', 'done', 'cancelled')),
    created_at       DATETIME NOT NULL,
    last_campaign_id INTEGER
);
CREATE INDEX alert_schedules_due ON alert_schedules (state, next_at);
