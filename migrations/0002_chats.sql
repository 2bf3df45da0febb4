-- Shopdesk schema, version 2: chat exports and one customer across channels.
--
-- Same conventions as 0001_init.sql (times in UTC milliseconds, enumerations as checked TEXT).

-- A row is one identity taking part in a chat conversation: the other person of a 1:1
-- chat, or each participant of a group chat (who then all see the group on their
-- timeline). Rows point at identities, not customers, so merging customers needs no
-- change here and splitting an identity off takes its conversations with it; the
-- customer is identities.customer_id.
CREATE TABLE conversation_participants (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    identity_id      INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, identity_id)
) WITHOUT ROWID;
CREATE INDEX conversation_participants_identity ON conversation_participants(identity_id);

-- Which identity wrote a chat message (NULL for mail, the shop's own lines and system
-- lines), so a group chat shows who said what.
ALTER TABLE messages ADD COLUMN identity_id INTEGER REFERENCES identities(id) ON DELETE SET NULL;

-- customer_merges rows are merges ('merge': merged_id was absorbed into kept_id) or
-- splits ('split': the `moved` ids went from kept_id to the new customer merged_id).
-- Undoing either replays `moved` backwards.
ALTER TABLE customer_merges ADD COLUMN kind TEXT NOT NULL DEFAULT 'merge'
    CHECK (kind IN ('merge', 'split'));
CREATE INDEX customer_merges_kept ON customer_merges(kept_id);
CREATE INDEX customer_merges_merged ON customer_merges(merged_id);

-- A row is one merge suggestion the user turned down (same name, different people); it
-- is not suggested again. customer_a < customer_b.
CREATE TABLE dismissed_suggestions (
    customer_a    INTEGER NOT NULL REFERENCES customers(id),
    customer_b    INTEGER NOT NULL REFERENCES customers(id),
    dismissed_at  INTEGER NOT NULL,
    PRIMARY KEY (customer_a, customer_b),
    CHECK (customer_a < customer_b)
) WITHOUT ROWID;
