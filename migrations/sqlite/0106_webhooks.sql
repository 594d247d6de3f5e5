-- textgate outbound webhooks: events other systems subscribe to (configured by the
-- sysadmin as [[webhook]]), delivered durably with retries.
-- - webhook_deliveries: one row per (webhook, event, subject): the UNIQUE constraint is
--   what lets the enqueuer run every second in every daemon and still post each event
--   once. The payload is the JSON body, written when the event is enqueued (a patron's
--   text may be erased from inbound later) and cleared once the delivery is final, so the
--   table does not keep patrons' texts. A delivery is due when pending and
--   next_attempt_at has come; a dispatcher pushes next_attempt_at forward (a lease)
--   before it posts, so two daemons never post it at the same time.
-- - webhook_marks: per webhook name, where its history starts (set the first time the
--   name is seen, so a new webhook does not replay old texts) and how far its enqueuer
--   has read (every text at or below a cursor has been judged).
-- migrations/postgres/0106_webhooks.sql is the same.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook         TEXT NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('text.received', 'text.delivered', 'text.failed')),
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
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook, id);

CREATE TABLE webhook_marks (
    webhook           TEXT PRIMARY KEY,
    since_inbound_id  INTEGER NOT NULL,
    since_outbound_id INTEGER NOT NULL,
    inbound_cursor    INTEGER NOT NULL,
    outbound_cursor   INTEGER NOT NULL,
    created_at        DATETIME NOT NULL
);
