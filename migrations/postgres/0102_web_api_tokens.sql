-- textgate web console: bearer tokens for the JSON API. Only a SHA-256 of each token is
-- kept; the token itself is shown once when it is created.
CREATE TABLE web_api_tokens (
    token_hash   TEXT PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES web_accounts (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX web_api_tokens_by_account ON web_api_tokens (account_id);
