-- Resumable campaign enqueueing (docs/alerts.md, "Enqueueing a campaign"). A campaign row
-- says how far its deliveries got into the outbox: 'enqueueing' from the moment it is
-- confirmed until every delivery is in the outbox, then 'enqueued'. A daemon resumes every
-- campaign it finds 'enqueueing' at start-up (and now and then), skipping recipients who
-- already have a delivery of that campaign. Single texts (member tests, codes, keyword
-- replies) have no state.
ALTER TABLE alert_sends ADD COLUMN campaign_state TEXT;
-- Recipients the campaign could not reach: members without a carrier when the only
-- gateways are the legacy e-mail path.
ALTER TABLE alert_sends ADD COLUMN unreachable BIGINT NOT NULL DEFAULT 0;
-- Campaigns from before this migration: finished ones are enqueued; unfinished ones are
-- marked interrupted rather than resumed, because nobody can say how old their alert is.
UPDATE alert_sends SET campaign_state = CASE WHEN enqueued_at IS NULL THEN 'interrupted' ELSE 'enqueued' END
    WHERE kind IN ('test', 'real');
-- A campaign's deliveries, for its progress and for resuming it.
CREATE INDEX outbound_by_campaign ON outbound (campaign_id, recipient) WHERE campaign_id IS NOT NULL;
