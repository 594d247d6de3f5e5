-- textgate web console and emergency alerts, SQLite flavour (owned by crates/web).
-- migrations/postgres/0100_web.sql holds the same tables, columns and indexes.
-- DATETIME columns hold RFC 3339 text in UTC written by sqlx, so text order is time order.
-- Phone numbers are never stored in clear: *_enc columns hold textgate-alerts
-- EncryptedField text ("v1:<key id>:<data>") and *_index columns the keyed blind index.

-- Sign-in accounts. roles is a comma-separated list of role names (member,
-- technical-administrator, emergency-administrator, transcript-administrator).
CREATE TABLE web_accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    tester        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    DATETIME NOT NULL
);

-- Browser sessions, anonymous ones included (they carry the sign-in form's CSRF token).
-- Only a SHA-256 of the cookie value is kept, so a copy of this table opens no session.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER REFERENCES web_accounts (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);

-- Failed sign-ins, counted per account name and per address to slow down guessing.
CREATE TABLE web_signin_failures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    failed_at  DATETIME NOT NULL
);
CREATE INDEX web_signin_failures_by_email ON web_signin_failures (email, failed_at);
CREATE INDEX web_signin_failures_by_ip ON web_signin_failures (ip_address, failed_at);

-- A member's alert registration: one number per account, one account per number.
CREATE TABLE alert_registrations (
    account_id    INTEGER PRIMARY KEY REFERENCES web_accounts (id) ON DELETE CASCADE,
    number_enc    TEXT NOT NULL,
    number_index  TEXT NOT NULL UNIQUE,
    carrier       TEXT,
    state         TEXT NOT NULL CHECK (state IN ('awaiting-confirmation', 'active', 'opted-out')),
    confirmation  TEXT,
    last_updated  DATETIME NOT NULL,
    last_tested   DATETIME,
    last_reminded DATETIME
);

-- STOP from a number nobody registered: a later sign-up of it starts opted out.
CREATE TABLE alert_opt_outs (
    number_index TEXT PRIMARY KEY,
    opted_out_at DATETIME NOT NULL
);

-- Everything the web side sends: alert and test campaigns (the send log), and single
-- texts (a member's test, a confirmation code, a keyword reply). Its id is the outbox's
-- campaign_id.
CREATE TABLE alert_sends (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL CHECK (kind IN ('test', 'real', 'member-test', 'confirmation', 'keyword-reply')),
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
CREATE INDEX alert_sends_by_kind ON alert_sends (kind, confirmed_at);

-- Tests sent from the member page. No foreign key: the log outlives the member.
CREATE TABLE alert_test_log (
    test_id      INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    ip_address   TEXT NOT NULL,
    gateway      TEXT NOT NULL,
    number_enc   TEXT NOT NULL,
    number_index TEXT NOT NULL,
    sent_at      DATETIME NOT NULL
);
CREATE INDEX alert_test_log_by_account ON alert_test_log (account_id, sent_at);
CREATE INDEX alert_test_log_by_number ON alert_test_log (number_index, sent_at);

-- Every administrative action, who did it, from where.
CREATE TABLE web_audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER,
    account_email TEXT NOT NULL,
    ip_address    TEXT NOT NULL,
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    at            DATETIME NOT NULL
);
CREATE INDEX web_audit_log_by_time ON web_audit_log (at);
