-- What the gateway could not tell an operator because the component was not connected
-- (a delivery receipt, an error on a reply, a notice): kept until that operator is next
-- available, so nothing said to a librarian is lost while the component reconnects or
-- the daemon restarts. The row holds the stanza's parts, not XML.
CREATE TABLE kept_notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway    TEXT NOT NULL,
    -- The operator's bare JID, which the row is looked up by.
    operator   TEXT NOT NULL,
    -- 'receipt', 'error' or 'notice'.
    kind       TEXT NOT NULL CHECK (kind IN ('receipt', 'error', 'notice')),
    -- The full or bare JID the stanza goes to.
    to_jid     TEXT NOT NULL,
    -- The patron it is about (its JID's local part as the gateway writes it); NULL when
    -- the gateway itself speaks.
    patron     TEXT,
    stanza_id  TEXT,
    condition  TEXT,
    body       TEXT,
    created_at DATETIME NOT NULL
);
CREATE INDEX kept_notices_by_operator ON kept_notices (gateway, operator, id);
