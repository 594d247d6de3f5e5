-- One row per part of a committed concatenated text, keyed by a hash of the part's PDU. A
-- part read again from the SIM after its text was committed (the daemon died before
-- deleting it) is recognised here and deleted, instead of starting a new pending text
-- that would later be delivered as a partial copy or joined to a later text that reuses
-- the concatenation reference. The key is a SHA-256 of the PDU, as the text's own
-- idempotency key is of its body; the rows go with the text.
CREATE TABLE inbound_part_keys (
    gateway    TEXT NOT NULL,
    part_key   TEXT NOT NULL,
    inbound_id INTEGER NOT NULL REFERENCES inbound (id) ON DELETE CASCADE,
    PRIMARY KEY (gateway, part_key)
);
CREATE INDEX inbound_part_keys_by_text ON inbound_part_keys (inbound_id);
