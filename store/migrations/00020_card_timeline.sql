-- +goose Up
-- The card timeline of each burst: every time a card went up or came down, by
-- the run-of-show, a host pin or the burst's end, with the wall-clock time and
-- the offset from the burst's live start. The recorder, replay and KPIs read
-- it. Rows outlive their card (no foreign key to cards) so that a replay keeps
-- its history when the run-of-show is edited later.

CREATE TABLE card_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    burst_id  bigint NOT NULL REFERENCES bursts (id) ON DELETE CASCADE,
    card_id   bigint NOT NULL,
    kind      text NOT NULL,
    source    text NOT NULL,
    at        timestamptz NOT NULL,
    offset_ms bigint NOT NULL,
    ends_at   timestamptz,
    CONSTRAINT card_events_kind_valid CHECK (kind IN ('show', 'hide')),
    CONSTRAINT card_events_source_valid CHECK (source IN ('schedule', 'pin', 'end')),
    CONSTRAINT card_events_offset_nonnegative CHECK (offset_ms >= 0),
    CONSTRAINT card_events_show_has_end CHECK ((kind = 'show') = (ends_at IS NOT NULL))
);
CREATE INDEX card_events_burst_idx ON card_events (burst_id, at, id);

-- +goose Down
DROP TABLE card_events;
