-- A part's message reference becomes text, because a message centre names the parts it
-- takes by a string: a modem's TP-MR (0 to 255, reused every 256 sends) or an SMSC's
-- message_id (SMPP submit_sm_resp, up to 64 characters), by which a status report or a
-- delivery receipt says which part it is about. A TP-MR recorded before this becomes its
-- decimal text (12 -> '12'), which is how the gateway writes one now, so a report for a
-- part sent before the upgrade still matches it. The index on outbound_parts is rebuilt
-- with the column.
ALTER TABLE outbound_parts ALTER COLUMN message_ref TYPE TEXT USING message_ref::text;
ALTER TABLE unmatched_reports ALTER COLUMN message_ref TYPE TEXT USING message_ref::text;
