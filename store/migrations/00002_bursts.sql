-- +goose Up
-- Bursts (short live sets inside a drop) and their run-of-show of cards.

CREATE TABLE bursts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    drop_id         bigint NOT NULL REFERENCES drops (id) ON DELETE CASCADE,
    title           text NOT NULL,
    kind            text NOT NULL,
    scheduled_at    timestamptz NOT NULL,
    max_duration_s  integer NOT NULL DEFAULT 900,
    state           text NOT NULL DEFAULT 'scheduled',
    -- SHA-256 of the stream key's secret part. The key itself is shown once and
    -- never stored, so a leaked database leaks no key.
    stream_key_hash bytea NOT NULL,
    live_at         timestamptz,
    ended_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bursts_title_length CHECK (length(title) BETWEEN 1 AND 200),
    CONSTRAINT bursts_kind_valid CHECK (kind IN ('headline', 'collab', 'community', 'backstage')),
    CONSTRAINT bursts_state_valid CHECK (state IN ('scheduled', 'live', 'ending', 'ended')),
    CONSTRAINT bursts_max_duration_range CHECK (max_duration_s BETWEEN 60 AND 14400),
    CONSTRAINT bursts_stream_key_hash_length CHECK (length(stream_key_hash) = 32),
    CONSTRAINT bursts_live_before_end CHECK (ended_at IS NULL OR live_at IS NULL OR ended_at >= live_at),
    CONSTRAINT bursts_drop_id_id_key UNIQUE (drop_id, id)
);
CREATE INDEX bursts_drop_id_idx ON bursts (drop_id, scheduled_at);

CREATE TABLE cards (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    burst_id    bigint NOT NULL,
    drop_id     bigint NOT NULL,
    product_id  bigint NOT NULL,
    variant_id  bigint,
    -- Seconds from the burst's actual live start.
    offset_s    integer NOT NULL,
    duration_s  integer NOT NULL DEFAULT 60,
    deal_price  bigint,
    vip_only    boolean NOT NULL DEFAULT false,
    -- Most units one shopper may hold of a variant through this card; NULL
    -- falls back to the checkout default.
    shopper_limit integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cards_burst_fk FOREIGN KEY (drop_id, burst_id) REFERENCES bursts (drop_id, id) ON DELETE CASCADE,
    CONSTRAINT cards_product_fk FOREIGN KEY (drop_id, product_id) REFERENCES products (drop_id, id) ON DELETE CASCADE,
    CONSTRAINT cards_variant_fk FOREIGN KEY (product_id, variant_id) REFERENCES variants (product_id, id) ON DELETE CASCADE,
    CONSTRAINT cards_offset_nonnegative CHECK (offset_s >= 0),
    CONSTRAINT cards_duration_positive CHECK (duration_s > 0),
    CONSTRAINT cards_deal_price_positive CHECK (deal_price IS NULL OR deal_price > 0),
    CONSTRAINT cards_shopper_limit_positive CHECK (shopper_limit IS NULL OR shopper_limit > 0)
);
CREATE INDEX cards_burst_id_idx ON cards (burst_id, offset_s, id);

-- +goose Down
DROP TABLE cards;
DROP TABLE bursts;
