-- Privacy handles: on a gateway with privacy_handles = true, librarians see each patron
-- as a stable random handle (p-7kq2m9xd@sms.library.example) instead of a phone number.
-- The mapping lives here and nowhere else, so replies to a handle reach the number after
-- any restart, and transcripts and exports show the handle. A handle is never reused for
-- another number on the same gateway, and a number keeps its handle for good.
-- migrations/sqlite/0111_patron_handles.sql is the same.
CREATE TABLE patron_handles (
    gateway    TEXT NOT NULL,
    handle     TEXT NOT NULL,
    -- As the gateway normalised the number (the conversations' patron).
    patron     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (gateway, handle),
    UNIQUE (gateway, patron)
);
