-- textgate web console: review reminders are sends too (kind 'review-reminder'). SQLite
-- cannot change a CHECK constraint in place, so the table is rebuilt with the same columns.
CREATE TABLE alert_sends_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL CHECK (kind IN ('test', 'real', 'member-test', 'confirmation', 'keyword-reply', 'review-reminder')),
    account_id          INTEGER,
    account_email       TEXT NOT NULL,
    body                TEXT NOT NULL,
    recipients          INTEGER NOT NULL,
    estimated_seconds   INTEGER NOT NULL,
    confirmed_at        DATETIME NOT NULL,
    enqueued_at         DATETIME,
    yearly_description  TEXT,
    yearly_date         TEXT,
    yearly_time         TEXT,
    yearly_announced    BOOLEAN
);
INSERT INTO alert_sends_new SELECT id, kind, account_id, account_email, body, recipients,
    estimated_seconds, confirmed_at, enqueued_at, yearly_description, yearly_date, yearly_time,
    yearly_announced FROM alert_sends;
DROP TABLE alert_sends;
ALTER TABLE alert_sends_new RENAME TO alert_sends;
CREATE INDEX alert_sends_by_kind ON alert_sends (kind, confirmed_at);
