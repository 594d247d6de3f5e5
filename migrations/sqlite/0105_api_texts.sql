-- textgate send API: texts other systems (a library's ILS) send through a gateway.
-- - web_api_tokens.scope: 'console' (everything the account's roles allow, but sending)
--   or 'send' (only the send API and its Kannel-compatible sendsms);
-- - api_texts: one row per text sent through the API, naming the outbox row, whose
--   account sent it (only that account reads its status), the caller's idempotency key
--   (unique per account: a retried request finds its text) and a hash of the request (a
--   key reused for a different text is refused).
-- migrations/postgres/0105_api_texts.sql is the same.
ALTER TABLE web_api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'console'
    CHECK (scope IN ('console', 'send'));

CREATE TABLE api_texts (
    outbound_id  INTEGER PRIMARY KEY REFERENCES outbound (id) ON DELETE CASCADE,
    account_id   INTEGER NOT NULL REFERENCES web_accounts (id) ON DELETE CASCADE,
    client_key   TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    parts        INTEGER NOT NULL,
    created_at   DATETIME NOT NULL,
    UNIQUE (account_id, client_key)
);
