-- +goose Up
-- Audience figures for the KPIs. Sales figures come from reservations and
-- orders, card moments from card_events; what only the shopper channel sees
-- is kept here.

-- Each shopper who joined a burst's channel, once per mode: "live" (the
-- burst had not ended: waiting room or live) or "replay" (after the end).
CREATE TABLE burst_audience (
    burst_id   bigint NOT NULL REFERENCES bursts (id) ON DELETE CASCADE,
    mode       text NOT NULL,
    shopper_id text NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    visits     integer NOT NULL,
    CONSTRAINT burst_audience_pkey PRIMARY KEY (burst_id, mode, shopper_id),
    CONSTRAINT burst_audience_mode_valid CHECK (mode IN ('live', 'replay')),
    CONSTRAINT burst_audience_visits_positive CHECK (visits > 0)
);

-- The most shoppers on a burst's channel at once while it was live.
CREATE TABLE burst_peaks (
    burst_id     bigint PRIMARY KEY REFERENCES bursts (id) ON DELETE CASCADE,
    peak_viewers integer NOT NULL,
    peak_at      timestamptz NOT NULL,
    CONSTRAINT burst_peaks_nonnegative CHECK (peak_viewers >= 0)
);

-- +goose Down
DROP TABLE burst_peaks;
DROP TABLE burst_audience;
