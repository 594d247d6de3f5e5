-- Status reports that matched no sent part yet (they overtook the record of their part),
-- kept until they match or age out, so a report that arrives just before the daemon stops
-- still reaches its reply after the restart instead of leaving it 'sent' for ever.
CREATE TABLE unmatched_reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway     TEXT NOT NULL,
    message_ref INTEGER NOT NULL,
    -- 'delivered' or 'failed' (with the network's reason).
    status      TEXT NOT NULL CHECK (status IN ('delivered', 'failed')),
    reason      TEXT,
    received_at DATETIME NOT NULL
);
CREATE INDEX unmatched_reports_by_gateway ON unmatched_reports (gateway, id);
