-- Polls: an alert may ask for a reply ("reply 1 if safe, 2 if you need help"). Each
-- member's latest answer is kept; the progress page tallies them and lists who needs help
-- or has not answered; a reminder goes to those who have not answered after a set time.
-- - alert_sends.poll_choices: the answers, one per line, numbered from 1 in that order
--   (NULL: not a poll). The first is the all-is-well answer.
-- - alert_sends.poll_resend_after: seconds after the poll went out when the reminder goes
--   to those who have not answered (NULL: no reminder); poll_resent_at: when it went,
--   claimed by one conditional update so two daemons never send it twice.
-- - alert_sends.poll_of: on the reminder, the poll it reminds of (its answers count there).
-- - alert_poll_answers: the latest answer of each member to each poll.
-- migrations/sqlite/0114_alert_polls.sql is the same.
ALTER TABLE alert_sends ADD COLUMN poll_choices TEXT;
ALTER TABLE alert_sends ADD COLUMN poll_resend_after BIGINT;
ALTER TABLE alert_sends ADD COLUMN poll_resent_at TIMESTAMPTZ;
ALTER TABLE alert_sends ADD COLUMN poll_of BIGINT;

CREATE TABLE alert_poll_answers (
    campaign_id BIGINT NOT NULL REFERENCES alert_sends (id) ON DELETE CASCADE,
    account_id  BIGINT NOT NULL REFERENCES web_accounts (id) ON DELETE CASCADE,
    answer      BIGINT NOT NULL,
    answered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, account_id)
);
