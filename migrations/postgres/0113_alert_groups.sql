-- Groups: besides emergency alerts, which reach every confirmed member, members may choose
-- optional groups the sysadmin configured ([[alerts.group]]: closures, weather ...), on
-- their page or by texting JOIN <group> / LEAVE <group>; administrators send to a group.
-- - alert_group_members: who chose which group, by the group's configured name. A group
--   removed from the configuration keeps its rows (harmless, and back if it returns).
-- - alert_sends.audience_group: the group a campaign went to (NULL: everyone, or the
--   testers for a test), written with the campaign so that resuming its enqueueing after
--   a crash sends to the same people.
-- migrations/sqlite/0113_alert_groups.sql is the same.
CREATE TABLE alert_group_members (
    account_id BIGINT NOT NULL REFERENCES web_accounts (id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    joined_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, group_name)
);
CREATE INDEX alert_group_members_by_group ON alert_group_members (group_name);

ALTER TABLE alert_sends ADD COLUMN audience_group TEXT;
