-- Updates and all-clears linked to the alert they follow (docs/alerts.md, "Updates and
-- the all clear"), as CAP 1.2 says them: msg_type 'update' or 'cancel' (the all clear)
-- with refers_to the thread's first alert; NULL msg_type is an alert of its own.
ALTER TABLE alert_sends ADD COLUMN msg_type TEXT;
ALTER TABLE alert_sends ADD COLUMN refers_to INTEGER;
CREATE INDEX alert_sends_by_thread ON alert_sends (refers_to) WHERE refers_to IS NOT NULL;
