-- A part whose outcome was lost with the attempt that sent it (the daemon died, or the
-- link to the modem or message centre ended, after the part was handed over and before
-- the answer came) may or may not have reached the network. The next attempt looks for
-- the network's status report on it before sending it again:
-- - outbound.attempt_started_at: when the current (or last) attempt leased the text;
-- - outbound.unsure_since: set when an attempt ended that way, to its start, so the next
--   attempt knows a report received since then may be about that part; cleared once the
--   next attempt decided (the part was reported, or it is sent again);
-- - unmatched_reports.recipient: the number a kept report is about (TP-RA, or the
--   receipt's source address), the only thing linking it to a part with no record.
ALTER TABLE outbound ADD COLUMN attempt_started_at DATETIME;
ALTER TABLE outbound ADD COLUMN unsure_since DATETIME;
ALTER TABLE unmatched_reports ADD COLUMN recipient TEXT;
