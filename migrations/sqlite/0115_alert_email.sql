-- An e-mail copy of alerts, over SMTP ([alerts.email]): members who ask for it get every
-- campaign they are sent also at their account's e-mail address.
-- - alert_email_copies: who asked (on the member page).
-- - alert_email_deliveries: one copy per campaign and member, queued with the campaign's
--   texts (UNIQUE, so a resumed enqueue never doubles one), posted by the service's mail
--   job, which pushes next_attempt_at forward before it sends (so two daemons never send
--   one at once) and retries a relay's temporary failure with backoff.
-- migrations/postgres/0115_alert_email.sql is the same.
CREATE TABLE alert_email_copies (
    account_id INTEGER PRIMARY KEY REFERENCES web_accounts (id) ON DELETE CASCADE,
    since      DATETIME NOT NULL
);

CREATE TABLE alert_email_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id     INTEGER NOT NULL REFERENCES alert_sends (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL,
    address         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_error      TEXT,
    sent_at         DATETIME,
    UNIQUE (campaign_id, account_id)
);
CREATE INDEX alert_email_deliveries_due ON alert_email_deliveries (next_attempt_at) WHERE state = 'pending';
