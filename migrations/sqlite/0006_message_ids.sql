-- A part's message reference becomes text, because a message centre names the parts it
-- takes by a string: a modem's TP-MR (0 to 255, reused every 256 sends) or an SMSC's
-- message_id (SMPP submit_sm_resp, up to 64 characters), by which a status report or a
-- delivery receipt says which part it is about. A TP-MR recorded before this becomes its
-- decimal text (12 -> '12'), which is how the gateway writes one now, so a report for a
-- part sent before the upgrade still matches it.
--
-- SQLite cannot change a column's type: each table is built again under a new name with
-- the columns, constraints and indexes of 0001 and 0005, its rows copied, the old one
-- dropped (its indexes with it) and the new one renamed. Nothing refers to either table,
-- so this needs no pause of foreign keys, and it runs in the migration's one transaction.

CREATE TABLE outbound_parts_new (
    outbound_id INTEGER NOT NULL REFERENCES outbound (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    gateway     TEXT NOT NULL,
    message_ref TEXT NOT NULL,
    sent_at     DATETIME NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    status_at   DATETIME,
    PRIMARY KEY (outbound_id, seq)
);
INSERT INTO outbound_parts_new (outbound_id, seq, gateway, message_ref, sent_at, status, status_at)
    SELECT outbound_id, seq, gateway, CAST(message_ref AS TEXT), sent_at, status, status_at
    FROM outbound_parts;
DROP TABLE outbound_parts;
ALTER TABLE outbound_parts_new RENAME TO outbound_parts;
CREATE INDEX outbound_parts_by_reference ON outbound_parts (gateway, message_ref, sent_at);

CREATE TABLE unmatched_reports_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway     TEXT NOT NULL,
    message_ref TEXT NOT NULL,
    -- 'delivered' or 'failed' (with the network's reason).
    status      TEXT NOT NULL CHECK (status IN ('delivered', 'failed')),
    reason      TEXT,
    received_at DATETIME NOT NULL
);
INSERT INTO unmatched_reports_new (id, gateway, message_ref, status, reason, received_at)
    SELECT id, gateway, CAST(message_ref AS TEXT), status, reason, received_at
    FROM unmatched_reports;
-- The ids go on from where they were, as PostgreSQL's identity does: a report kept after
-- the upgrade never takes the id of one forgotten before it. (Dropping the old table
-- deletes its counter; renaming the new one renames the copy.)
DELETE FROM sqlite_sequence WHERE name = 'unmatched_reports_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'unmatched_reports_new', seq FROM sqlite_sequence WHERE name = 'unmatched_reports';
DROP TABLE unmatched_reports;
ALTER TABLE unmatched_reports_new RENAME TO unmatched_reports;
CREATE INDEX unmatched_reports_by_gateway ON unmatched_reports (gateway, id);
