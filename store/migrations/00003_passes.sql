-- +goose Up
-- VIP passes open a drop's backstage bursts and VIP-only cards. Like stream
-- keys, only the SHA-256 of a pass's secret is stored.
CREATE TABLE vip_passes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    drop_id     bigint NOT NULL REFERENCES drops (id) ON DELETE CASCADE,
    label       text NOT NULL,
    secret_hash bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vip_passes_label_length CHECK (length(label) BETWEEN 1 AND 200),
    CONSTRAINT vip_passes_secret_hash_length CHECK (length(secret_hash) = 32)
);
CREATE INDEX vip_passes_drop_id_idx ON vip_passes (drop_id, id);

-- +goose Down
DROP TABLE vip_passes;
