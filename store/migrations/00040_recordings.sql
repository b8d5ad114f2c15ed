-- +goose Up
-- Recordings of bursts (one row per part file) and clips cut from them.

CREATE TABLE recordings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    burst_id    bigint NOT NULL REFERENCES bursts (id) ON DELETE CASCADE,
    part        integer NOT NULL,
    -- Storage key below the data directory, e.g. recordings/burst-12/part-001.mp4.
    path        text NOT NULL,
    codecs      text NOT NULL DEFAULT '',
    -- Wall-clock time of the part's first frame.
    started_at  timestamptz NOT NULL,
    duration_ms bigint NOT NULL DEFAULT 0,
    bytes       bigint NOT NULL DEFAULT 0,
    state       text NOT NULL DEFAULT 'recording',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recordings_part_positive CHECK (part > 0),
    CONSTRAINT recordings_state_valid CHECK (state IN ('recording', 'complete', 'repaired', 'failed')),
    CONSTRAINT recordings_burst_part_key UNIQUE (burst_id, part)
);
CREATE INDEX recordings_state_idx ON recordings (state) WHERE state = 'recording';

CREATE TABLE clips (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    burst_id    bigint NOT NULL REFERENCES bursts (id) ON DELETE CASCADE,
    -- manual (admin or CLI), or proposed after the burst: snap (10 s),
    -- cut (20 s) at a card's moment, hero (90 s) around the densest run.
    kind        text NOT NULL DEFAULT 'manual',
    label       text NOT NULL DEFAULT '',
    -- Range on the burst's replay timeline, in milliseconds.
    from_ms     bigint NOT NULL,
    to_ms       bigint NOT NULL,
    path        text NOT NULL,
    bytes       bigint NOT NULL DEFAULT 0,
    card_id     bigint REFERENCES cards (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clips_kind_valid CHECK (kind IN ('manual', 'snap', 'cut', 'hero')),
    CONSTRAINT clips_range_valid CHECK (from_ms >= 0 AND to_ms > from_ms),
    CONSTRAINT clips_label_length CHECK (length(label) <= 200)
);
CREATE INDEX clips_burst_id_idx ON clips (burst_id, from_ms);
-- One proposal of a kind per card moment, so proposing twice adds nothing.
CREATE UNIQUE INDEX clips_proposal_key ON clips (burst_id, kind, from_ms, to_ms) WHERE kind <> 'manual';

CREATE TABLE clip_products (
    clip_id    bigint NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (clip_id, product_id)
);

-- +goose Down
DROP TABLE clip_products;
DROP TABLE clips;
DROP TABLE recordings;
