-- textgate store, SQLite flavour. migrations/postgres/0001_store.sql holds the same
-- tables, columns and indexes (a test in crates/store checks they stay equivalent).
-- Gateways are identified by the name given in the configuration; no table lists them.
-- DATETIME columns hold RFC 3339 text in UTC ("2026-11-22T04:05:06.123+00:00"), written by
-- the store only, so comparing them as text orders them in time.

-- Per-gateway choices about what is kept. A gateway without a row keeps no transcripts.
CREATE TABLE gateway_settings (
    gateway     TEXT PRIMARY KEY,
    transcripts BOOLEAN NOT NULL DEFAULT FALSE
);

-- One row per (gateway, patron): the record that stays for statistics when bodies go.
CREATE TABLE conversations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway        TEXT NOT NULL,
    patron         TEXT NOT NULL,
    claimed_by     TEXT,
    first_activity DATETIME NOT NULL,
    last_activity  DATETIME NOT NULL,
    texts_in       INTEGER NOT NULL DEFAULT 0,
    texts_out      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (gateway, patron)
);

-- Texts from patrons (SMS -> XMPP). body is NULL once erased; body_chars stays.
CREATE TABLE inbound (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway                 TEXT NOT NULL,
    conversation_id         INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    idempotency_key         TEXT NOT NULL,
    sender                  TEXT NOT NULL,
    smsc_time               DATETIME NOT NULL,
    smsc_utc_offset_minutes INTEGER NOT NULL,
    received_at             DATETIME NOT NULL,
    state                   TEXT NOT NULL CHECK (state IN ('stored', 'offered', 'delivered')),
    offered_at              DATETIME,
    delivered_at            DATETIME,
    delivered_to            TEXT,
    body                    TEXT,
    body_chars              INTEGER NOT NULL,
    part_count              INTEGER NOT NULL,
    incomplete              BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (gateway, idempotency_key)
);
CREATE INDEX inbound_undelivered ON inbound (gateway, id) WHERE state <> 'delivered';
CREATE INDEX inbound_by_conversation ON inbound (conversation_id, received_at);
CREATE INDEX inbound_by_time ON inbound (gateway, received_at);

-- The PDUs an inbound text was decoded from, in part order.
CREATE TABLE inbound_parts (
    inbound_id INTEGER NOT NULL REFERENCES inbound (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    pdu_hex    TEXT NOT NULL,
    PRIMARY KEY (inbound_id, seq)
);

-- Parts of concatenated texts whose other parts have not arrived yet. A part is stored here
-- before it is deleted from the SIM, and removed in the transaction that stores the whole
-- text, so a crash between the two loses nothing.
CREATE TABLE pending_parts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway        TEXT NOT NULL,
    sender         TEXT NOT NULL,
    reference      INTEGER NOT NULL,
    reference_bits INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    pdu_hex        TEXT NOT NULL,
    received_at    DATETIME NOT NULL,
    UNIQUE (gateway, sender, reference, reference_bits, total, seq)
);

-- The outbox (XMPP -> SMS). A row in state 'sending' is leased by lease_owner until
-- lease_until; an expired lease makes the row due again.
CREATE TABLE outbound (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway         TEXT NOT NULL,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    campaign_id     INTEGER,
    recipient       TEXT NOT NULL,
    sender_jid      TEXT,
    xmpp_id         TEXT,
    idempotency_key TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    lease_owner     TEXT,
    lease_token     INTEGER,
    lease_until     DATETIME,
    last_error      TEXT,
    body            TEXT,
    body_chars      INTEGER NOT NULL,
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME,
    finished_at     DATETIME,
    UNIQUE (gateway, idempotency_key)
);
CREATE INDEX outbound_due ON outbound (gateway, priority DESC, next_attempt_at)
    WHERE state IN ('queued', 'sending');
CREATE INDEX outbound_by_conversation ON outbound (conversation_id, created_at);
CREATE INDEX outbound_by_time ON outbound (gateway, created_at);

-- One row per SMS part the network accepted, with its message reference (TP-MR), so a
-- status report can be matched back to the text.
CREATE TABLE outbound_parts (
    outbound_id INTEGER NOT NULL REFERENCES outbound (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    gateway     TEXT NOT NULL,
    message_ref INTEGER NOT NULL,
    sent_at     DATETIME NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    status_at   DATETIME,
    PRIMARY KEY (outbound_id, seq)
);
CREATE INDEX outbound_parts_by_reference ON outbound_parts (gateway, message_ref, sent_at);
