-- textgate web console: review reminders are sends too (kind 'review-reminder'), and the
-- registration remembers when the last one went out (column added in 0100 already).
ALTER TABLE alert_sends DROP CONSTRAINT alert_sends_kind_check;
ALTER TABLE alert_sends ADD CONSTRAINT alert_sends_kind_check
    CHECK (kind IN ('test', 'real', 'member-test', 'confirmation', 'keyword-reply', 'review-reminder'));
