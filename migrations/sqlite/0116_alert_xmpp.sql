-- Alerts over XMPP ([alerts.xmpp]): members may register a JID on their page and get every
-- campaign they are sent there too; staff JIDs and a staff room get every campaign.
-- - alert_xmpp_addresses: the JID each member registered.
-- - alert_xmpp_deliveries: one message per campaign and address, queued with the
--   campaign's texts (UNIQUE, so a resumed enqueue never doubles one) and sent by the
--   service's XMPP job, which pushes next_attempt_at forward before it sends (two daemons
--   never send one at once) and retries while the server is out of reach. `recipient` says
--   whose address it is: a member's, a staff JID, or the staff room.
-- migrations/postgres/0116_alert_xmpp.sql is the same.
CREATE TABLE alert_xmpp_addresses (
    account_id INTEGER PRIMARY KEY REFERENCES web_accounts (id) ON DELETE CASCADE,
    jid        TEXT NOT NULL,
    since      DATETIME NOT NULL
);

CREATE TABLE alert_xmpp_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id     INTEGER NOT NULL REFERENCES alert_sends (id) ON DELETE CASCADE,
    recipient       TEXT NOT NULL CHECK (recipient IN ('member', 'staff', 'room')),
    address         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_error      TEXT,
    sent_at         DATETIME,
    UNIQUE (campaign_id, recipient, address)
);
CREATE INDEX alert_xmpp_deliveries_due ON alert_xmpp_deliveries (next_attempt_at) WHERE state = 'pending';
