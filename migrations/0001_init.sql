-- Shopdesk schema, version 1.
--
-- Conventions
--   * Every *_at column is an INTEGER: milliseconds since the Unix epoch, UTC.
--   * Money is an INTEGER in minor units (cents, agorot, grosze) next to an ISO 4217 code.
--   * Enumerations are TEXT with a CHECK, so the database rejects values the code does not know.
--   * JSON columns hold small lists/maps that are never queried by their inside.
--   * Connection pragmas (WAL, foreign_keys, busy_timeout) are set per connection by the
--     store, not here: migrations run inside one transaction where pragmas are ignored.
-- A landed migration is never edited; changes go in the next numbered file.

-- A row is one person using the app (a shop has one or two). `is_me` marks who sits at
-- this laptop; assignments, notes and the event log point here.
CREATE TABLE team_members (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT,
    is_me       INTEGER NOT NULL DEFAULT 0 CHECK (is_me IN (0, 1)),
    created_at  INTEGER NOT NULL
);

-- A row is one application setting (key -> JSON value): shop names in chats, default
-- phone region, response-time targets, notification options, UI language, demo marker.
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- A row is one configured mailbox: IMAP in, SMTP out. The password is NOT here: it lives
-- in the OS keyring under the account name.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    aliases       TEXT NOT NULL DEFAULT '[]',   -- JSON list of further own addresses
    display_name  TEXT,
    username      TEXT NOT NULL,
    imap_host     TEXT NOT NULL,
    imap_port     INTEGER NOT NULL,
    imap_tls      TEXT NOT NULL CHECK (imap_tls IN ('none', 'starttls', 'tls')),
    smtp_host     TEXT NOT NULL,
    smtp_port     INTEGER NOT NULL,
    smtp_tls      TEXT NOT NULL CHECK (smtp_tls IN ('none', 'starttls', 'tls')),
    ca_file       TEXT,                         -- extra trusted CA (PEM); never "accept invalid"
    folders       TEXT NOT NULL DEFAULT '[]',   -- JSON list of extra folders to sync
    signature     TEXT,
    created_at    INTEGER NOT NULL
);

-- A row is one IMAP folder of an account and how far it has been synced. A changed
-- UIDVALIDITY invalidates last_uid; highest_modseq is set when the server has CONDSTORE.
CREATE TABLE sync_folders (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL DEFAULT 'other' CHECK (role IN ('inbox', 'sent', 'other')),
    uidvalidity     INTEGER,
    last_uid        INTEGER NOT NULL DEFAULT 0,
    highest_modseq  INTEGER,
    last_sync_at    INTEGER,
    UNIQUE (account_id, name)
);

-- A row is one customer: a person the shop talks to on any channel. When two customers
-- are merged, the absorbed one keeps its row with merged_into set (so a merge can be undone).
CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    language     TEXT,                          -- BCP 47 tag when known: he, ar, pl, en
    merged_into  INTEGER REFERENCES customers(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX customers_merged_into ON customers(merged_into);

-- A row is one way of recognising a customer: an email address, an E.164 phone, a
-- WhatsApp/Messenger/Instagram/Telegram handle or id, or a display name. `value` is the
-- normalised form (lower-cased email, E.164 phone) and is unique per kind, so the same
-- address can never point at two customers; `display` is how it was written.
CREATE TABLE identities (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'whatsapp', 'messenger',
                                               'instagram', 'telegram', 'name')),
    value        TEXT NOT NULL,
    display      TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX identities_customer ON identities(customer_id);

-- A row is one tag name; tags attach to conversations and customers.
CREATE TABLE tags (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    color  TEXT
);

-- A row is one thread of talk with one customer on one channel (an email thread, a
-- WhatsApp chat). last_activity_at / last_inbound_at are kept by triggers on messages so
-- the inbox can page newest-first from an index.
CREATE TABLE conversations (
    id                  INTEGER PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES customers(id),
    channel             TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp', 'messenger',
                                                         'instagram', 'telegram')),
    subject             TEXT,
    status              TEXT NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'pending', 'snoozed', 'closed')),
    priority            TEXT NOT NULL DEFAULT 'normal'
                          CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    assignee_id         INTEGER REFERENCES team_members(id) ON DELETE SET NULL,
    snoozed_until       INTEGER,                -- NULL with status snoozed = until the customer replies
    external_key        TEXT,                   -- chat export's thread identity (e.g. WhatsApp chat name)
    created_at          INTEGER NOT NULL,
    last_activity_at    INTEGER NOT NULL,
    last_inbound_at     INTEGER,                -- newest customer message: drives "waiting time"
    UNIQUE (channel, external_key)
);
CREATE INDEX conversations_activity ON conversations(last_activity_at DESC, id DESC);
CREATE INDEX conversations_customer ON conversations(customer_id, last_activity_at DESC);
CREATE INDEX conversations_status ON conversations(status, last_activity_at DESC);

-- A row is one tag on one conversation.
CREATE TABLE conversation_tags (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tag_id           INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, tag_id)
) WITHOUT ROWID;

-- A row is one tag on one customer.
CREATE TABLE customer_tags (
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag_id       INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (customer_id, tag_id)
) WITHOUT ROWID;

-- A row is one message on a conversation's timeline: an email, a chat line, or a system
-- event (a WhatsApp "X joined", a call). `source_key` identifies the message across
-- re-imports and syncs (an email's Message-ID plus a content hash, a chat line's export
-- hash), so importing the same thing twice adds nothing. body_html is already sanitised.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    direction        TEXT NOT NULL CHECK (direction IN ('in', 'out', 'system')),
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp', 'messenger',
                                                      'instagram', 'telegram')),
    author           TEXT,                      -- display name or address as written
    author_member_id INTEGER REFERENCES team_members(id) ON DELETE SET NULL,
    sent_at          INTEGER NOT NULL,
    subject          TEXT,
    body_text        TEXT NOT NULL DEFAULT '',
    body_html        TEXT,
    source_key       TEXT NOT NULL UNIQUE,
    sent_by_hand     INTEGER NOT NULL DEFAULT 0 CHECK (sent_by_hand IN (0, 1)),
    problems         TEXT,                      -- what could not be read (malformed input), for the user
    created_at       INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, sent_at);

-- A row is one place a message was seen: an IMAP folder location or an import file. A
-- message moved between folders keeps one messages row and gains a location here.
CREATE TABLE message_sources (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    account_id   INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    folder       TEXT,
    uidvalidity  INTEGER,
    uid          INTEGER,
    flags        TEXT,                          -- IMAP flags as last seen, space-separated
    import_path  TEXT,                          -- file it came from, for non-IMAP sources
    seen_at      INTEGER NOT NULL,
    UNIQUE (account_id, folder, uidvalidity, uid)
);
CREATE INDEX message_sources_message ON message_sources(message_id);

-- A row is the email envelope of one email message: the keys threading needs. The same
-- RFC Message-ID may appear on two rows (two genuinely different messages reusing an id),
-- so it is indexed, not unique.
CREATE TABLE email_headers (
    message_id      INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    rfc_message_id  TEXT,                       -- without angle brackets; NULL when missing
    in_reply_to     TEXT,
    refs            TEXT,                       -- References ids, space-separated, oldest first
    thread_index    TEXT,                       -- Outlook Thread-Index (base64), a hint
    from_addr       TEXT,
    to_addrs        TEXT,                       -- JSON list
    cc_addrs        TEXT,                       -- JSON list
    reply_to        TEXT
);
CREATE INDEX email_headers_rfc_id ON email_headers(rfc_message_id);

-- A row maps one RFC Message-ID to the conversation it belongs to, whether that message
-- has been seen (message_id set) or only referenced by another (a placeholder). When a
-- late parent arrives, the placeholders tell which conversations it joins.
CREATE TABLE email_thread_ids (
    rfc_message_id   TEXT PRIMARY KEY,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    message_id       INTEGER REFERENCES messages(id) ON DELETE SET NULL
);
CREATE INDEX email_thread_ids_conversation ON email_thread_ids(conversation_id);

-- A row is one attachment of a message. Content is a file on disk named by its SHA-256
-- (content-addressed, so the same file twice is stored once); sha256 is NULL when the
-- export only names the file (a WhatsApp media marker without the media).
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename    TEXT,
    mime_type   TEXT,
    size        INTEGER,
    sha256      TEXT,
    content_id  TEXT,                           -- for inline parts referenced by cid:
    inline      INTEGER NOT NULL DEFAULT 0 CHECK (inline IN (0, 1))
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE INDEX attachments_sha256 ON attachments(sha256);

-- A row is one internal note about a customer (optionally on one conversation). Notes are
-- never sent.
CREATE TABLE notes (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    conversation_id  INTEGER REFERENCES conversations(id),
    author_id        INTEGER REFERENCES team_members(id) ON DELETE SET NULL,
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX notes_customer ON notes(customer_id, created_at);

-- A row is one order from the shop's export (Shopify, WooCommerce) or the demo. Linked to
-- a customer by e-mail, then phone; unlinked orders keep customer_id NULL.
CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    customer_id         INTEGER REFERENCES customers(id),
    source              TEXT NOT NULL,          -- shopify | woocommerce | demo | …
    number              TEXT NOT NULL,          -- the shop's order number, e.g. #1001
    email               TEXT,
    phone               TEXT,                   -- E.164 when it could be normalised
    currency            TEXT,
    total_minor         INTEGER,
    financial_status    TEXT,
    fulfillment_status  TEXT,
    created_at          INTEGER NOT NULL,
    fulfilled_at        INTEGER,
    cancelled_at        INTEGER,
    updated_at          INTEGER NOT NULL,
    UNIQUE (source, number)
);
CREATE INDEX orders_customer ON orders(customer_id, created_at);

-- A row is one line item of an order.
CREATE TABLE order_lines (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    sku         TEXT,
    title       TEXT NOT NULL,
    quantity    INTEGER NOT NULL DEFAULT 1,
    price_minor INTEGER,
    UNIQUE (order_id, position)
);

-- A row is one saved reply in one language; {{variables}} are checked when saved.
CREATE TABLE templates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,
    subject     TEXT,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (name, language)
);

-- A row is one follow-up rule: "N days after an order is created/fulfilled, remind me".
CREATE TABLE followup_rules (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    trigger      TEXT NOT NULL CHECK (trigger IN ('order_created', 'order_fulfilled')),
    days         INTEGER NOT NULL CHECK (days >= 0),
    template_id  INTEGER REFERENCES templates(id) ON DELETE SET NULL,
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at   INTEGER NOT NULL
);

-- A row is one reminder to contact a customer at due_at, one-off or made by a rule for an
-- order (then unique per rule and order, so re-evaluating rules adds nothing).
CREATE TABLE followups (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    conversation_id  INTEGER REFERENCES conversations(id),
    order_id         INTEGER REFERENCES orders(id) ON DELETE SET NULL,
    rule_id          INTEGER REFERENCES followup_rules(id) ON DELETE SET NULL,
    due_at           INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'done', 'cancelled')),
    notified_at      INTEGER,
    created_at       INTEGER NOT NULL,
    closed_at        INTEGER,
    UNIQUE (rule_id, order_id)
);
CREATE INDEX followups_due ON followups(state, due_at);
CREATE INDEX followups_customer ON followups(customer_id);

-- A row is one outgoing email on its way out. It is written, with its final Message-ID
-- and raw bytes, before any network call; the state machine is
-- queued -> sending -> sent | failed (-> queued on retry) | cancelled.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES accounts(id),
    conversation_id    INTEGER REFERENCES conversations(id),
    message_id         INTEGER REFERENCES messages(id) ON DELETE SET NULL,  -- its timeline row
    rfc_message_id     TEXT NOT NULL UNIQUE,
    raw                BLOB NOT NULL,           -- the RFC 5322 message exactly as it will be sent
    state              TEXT NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    send_after         INTEGER,                 -- "send later"; NULL = as soon as possible
    cancel_on_reply    INTEGER NOT NULL DEFAULT 1 CHECK (cancel_on_reply IN (0, 1)),
    next_attempt_at    INTEGER,
    last_error         TEXT,                    -- the server's answer on failure
    created_at         INTEGER NOT NULL,
    sent_at            INTEGER
);
CREATE INDEX outbox_state ON outbox(state, next_attempt_at);

-- A row is one unsent reply or note being written (autosaved).
CREATE TABLE drafts (
    conversation_id  INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL DEFAULT 'reply' CHECK (kind IN ('reply', 'note')),
    body             TEXT NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- A row is one customer merge; undoing it replays `moved` (JSON: the identity,
-- conversation, order, note and follow-up ids that changed owner) backwards.
CREATE TABLE customer_merges (
    id           INTEGER PRIMARY KEY,
    kept_id      INTEGER NOT NULL REFERENCES customers(id),
    merged_id    INTEGER NOT NULL REFERENCES customers(id),
    moved        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    undone_at    INTEGER
);

-- A row is one import or sync run and its report: counts and problems (file:line: what).
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,                  -- mail | whatsapp | messenger | … | imap
    source      TEXT NOT NULL,                  -- path or account name
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    imported    INTEGER NOT NULL DEFAULT 0,
    duplicates  INTEGER NOT NULL DEFAULT 0,
    problems    TEXT NOT NULL DEFAULT '[]'      -- JSON list of {location, message}
);

-- A row is one change someone (or something) made: who, what, to which row, when.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,                 -- team member name, 'import', 'sync', 'system'
    entity       TEXT NOT NULL,                 -- table name
    entity_id    INTEGER,
    action       TEXT NOT NULL,
    details      TEXT                           -- JSON
);
CREATE INDEX events_entity ON events(entity, entity_id);

-- Full-text index over message subject, text and author. Contentless (the text lives in
-- messages only) and kept in sync by the triggers below. The triggers index
-- shopdesk_fold(text): an SQL function the store registers on every connection that
-- strips combining marks (Hebrew niqqud, Arabic harakat, Latin accents) and unifies ł/l and
-- Arabic alef forms, so "שלום" finds "שָׁלוֹם" and "zolty" finds "żółty". Queries are folded
-- the same way. unicode61 then splits words in every script and folds case.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    subject, body_text, author,
    content = '', contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 2"
);

CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, subject, body_text, author)
        VALUES (new.id, shopdesk_fold(new.subject), shopdesk_fold(new.body_text),
                shopdesk_fold(new.author));
    UPDATE conversations
       SET last_activity_at = max(last_activity_at, new.sent_at),
           last_inbound_at = CASE WHEN new.direction = 'in'
                                  THEN max(coalesce(last_inbound_at, 0), new.sent_at)
                                  ELSE last_inbound_at END
     WHERE id = new.conversation_id;
END;

CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
END;

CREATE TRIGGER messages_au AFTER UPDATE OF subject, body_text, author ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
    INSERT INTO messages_fts(rowid, subject, body_text, author)
        VALUES (new.id, shopdesk_fold(new.subject), shopdesk_fold(new.body_text),
                shopdesk_fold(new.author));
END;
