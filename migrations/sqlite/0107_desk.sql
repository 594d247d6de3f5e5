-- The librarians' desk tools, per gateway.
-- - canned_replies: prepared answers a librarian sends by name ("hours" -> "We are open
--   9-5 Mon-Fri."). The name is stored as the caller gives it (the gateway lower-cases
--   it); saving a name again replaces the body, keeps who created it and when, and
--   records who changed it last.
-- - blocked_numbers: numbers whose texts are kept from the librarians (abuse). The
--   number is stored as the gateway normalised the sender.
-- - inbound.blocked_at: when a text from a blocked number was held back. Such a text is
--   still stored (it was committed before the gateway looked at the sender, and the
--   modem may only forget a text once it is stored), but it is taken out of the
--   undelivered backlog for good by setting its state to 'delivered' with delivered_at
--   and delivered_to left NULL: no librarian received it. 'delivered' is the state that
--   means "finished" everywhere (the backlog query and its partial index, the privacy
--   operations), so the state CHECK stays as it was, the table is not rebuilt on SQLite,
--   and a daemon of the previous release still never offers the text. Its body and
--   PDUs are erased when it is held back unless the gateway keeps transcripts, as on
--   delivery. blocked_at IS NOT NULL is what marks it as blocked.
-- migrations/postgres/0107_desk.sql is the same.
CREATE TABLE canned_replies (
    gateway    TEXT NOT NULL,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (gateway, name)
);

CREATE TABLE blocked_numbers (
    gateway    TEXT NOT NULL,
    number     TEXT NOT NULL,
    -- The operator's bare JID.
    blocked_by TEXT NOT NULL,
    blocked_at DATETIME NOT NULL,
    PRIMARY KEY (gateway, number)
);

ALTER TABLE inbound ADD COLUMN blocked_at DATETIME;
CREATE INDEX inbound_blocked ON inbound (gateway) WHERE blocked_at IS NOT NULL;

ALTER TABLE conversations ADD COLUMN auto_replied_at DATETIME;
