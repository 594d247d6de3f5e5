-- Whether the librarian asked for a delivery receipt (XEP-0184) on the reply this row
-- carries. Kept with the text, not in a daemon's memory, so the receipt still reaches the
-- librarian when the status report arrives after a restart, or is matched by another
-- daemon sharing the database.
ALTER TABLE outbound ADD COLUMN receipt_requested BOOLEAN NOT NULL DEFAULT FALSE;
