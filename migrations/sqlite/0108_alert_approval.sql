-- Two-person approval of real alerts (docs/alerts.md, "Two-person approval"). With
-- [alerts] approval = "two-person", a real alert confirmed by one emergency administrator
-- is recorded in campaign_state 'awaiting-approval' and goes out only when a second one
-- approves it ('enqueueing' from then on, as any confirmed campaign); 'refused' and
-- 'expired' ones never go out. confirmed_at stays the drafter's confirmation; who
-- approved or refused it, and when, is kept here and in the audit log.
ALTER TABLE alert_sends ADD COLUMN decided_by TEXT;
ALTER TABLE alert_sends ADD COLUMN decided_at DATETIME;
