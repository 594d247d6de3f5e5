-- textgate web console: API tokens get a number, so that a list can name a token to
-- revoke without showing (or even knowing) its secret. The SHA-256 stays unique: it is
-- how a presented token is found. SQLite cannot change a primary key in place, so the
-- table is rebuilt. migrations/postgres/0104_web_token_ids.sql is the same.
CREATE TABLE web_api_tokens_numbered (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   TEXT NOT NULL UNIQUE,
    account_id   INTEGER NOT NULL REFERENCES web_accounts (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME
);
INSERT INTO web_api_tokens_numbered (token_hash, account_id, label, created_at, last_used_at)
    SELECT token_hash, account_id, label, created_at, last_used_at
    FROM web_api_tokens ORDER BY created_at;
DROP TABLE web_api_tokens;
ALTER TABLE web_api_tokens_numbered RENAME TO web_api_tokens;
CREATE INDEX web_api_tokens_by_account ON web_api_tokens (account_id);
