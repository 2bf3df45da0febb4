-- Shopdesk schema, version 3: the search box's operators.
--
-- Operators alone (`channel:whatsapp`, `after:2026-11-01`, `from:anna`) list messages
-- newest first; this index lets SQLite walk messages by time and stop at the page size
-- instead of sorting every message.
CREATE INDEX messages_sent_at ON messages(sent_at);
