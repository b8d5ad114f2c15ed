-- +goose Up
-- Checkout: stock spread over shards, per-shopper unit counters, reservations
-- (holds), orders and the Stripe events already applied.

-- A variant's stock is spread over several rows ("shards") so that a rush on
-- one variant does not queue every reservation behind one row lock. The
-- variant's available stock is the sum of its shards; each shard keeps the
-- non-negative check, so the sum never goes below zero either.
ALTER TABLE stock DROP CONSTRAINT stock_pkey;
ALTER TABLE stock ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE stock ADD CONSTRAINT stock_pkey PRIMARY KEY (variant_id, shard);
ALTER TABLE stock ADD CONSTRAINT stock_shard_range CHECK (shard BETWEEN 0 AND 63);
INSERT INTO stock (variant_id, shard, available)
SELECT s.variant_id, g, 0 FROM stock s, generate_series(1, 7) g;
UPDATE stock s SET available = t.total / 8 + CASE WHEN s.shard < t.total % 8 THEN 1 ELSE 0 END
FROM (SELECT variant_id, sum(available)::integer AS total FROM stock GROUP BY variant_id) t
WHERE s.variant_id = t.variant_id;

-- Units of a variant that a shopper holds, has ordered or has bought in a
-- drop: the counter the per-shopper limit is checked against in one
-- conditional upsert. Released units are subtracted again. No foreign keys:
-- the reservation function checks the variant, and a key-share lock on the
-- hot variant row per insert would serialize a rush.
CREATE TABLE shopper_units (
    shopper_id text NOT NULL,
    drop_id    bigint NOT NULL,
    variant_id bigint NOT NULL,
    units      integer NOT NULL,
    CONSTRAINT shopper_units_pkey PRIMARY KEY (shopper_id, drop_id, variant_id),
    CONSTRAINT shopper_units_nonnegative CHECK (units >= 0)
);

CREATE TABLE orders (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shopper_id        text NOT NULL,
    drop_id           bigint NOT NULL REFERENCES drops (id) ON DELETE CASCADE,
    burst_id          bigint,
    card_id           bigint,
    status            text NOT NULL DEFAULT 'pending',
    currency          text NOT NULL,
    amount            bigint NOT NULL,
    stripe_session_id text,
    checkout_url      text,
    return_url        text NOT NULL DEFAULT '',
    -- After this the order's stock goes back on sale unless it was paid.
    expires_at        timestamptz NOT NULL,
    paid_at           timestamptz,
    closed_at         timestamptz,
    -- Set when a payment arrived for an order whose stock had already been
    -- released and could not be taken again: an operator must act.
    stock_short       boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_status_valid CHECK (status IN ('pending', 'paid', 'expired', 'failed')),
    CONSTRAINT orders_amount_nonnegative CHECK (amount >= 0)
);
CREATE INDEX orders_drop_id_idx ON orders (drop_id, id DESC);
CREATE INDEX orders_pending_idx ON orders (expires_at) WHERE status = 'pending';
CREATE INDEX orders_shopper_idx ON orders (shopper_id, drop_id, id DESC);

-- One add to a cart: qty units of a variant taken from stock at a price
-- locked when it was made. held → ordered (in a pending order) → sold, or →
-- released (removed, expired, payment failed). No foreign keys on the hot
-- insert path, for the reason given above.
CREATE TABLE reservations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shopper_id  text NOT NULL,
    drop_id     bigint NOT NULL,
    burst_id    bigint,
    card_id     bigint,
    variant_id  bigint NOT NULL,
    -- The shard the units came from (the first, when several were needed);
    -- released units go back there.
    shard       smallint NOT NULL,
    qty         integer NOT NULL,
    unit_price  bigint NOT NULL,
    state       text NOT NULL DEFAULT 'held',
    order_id    bigint REFERENCES orders (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    released_at timestamptz,
    CONSTRAINT reservations_qty_positive CHECK (qty > 0),
    CONSTRAINT reservations_unit_price_positive CHECK (unit_price > 0),
    CONSTRAINT reservations_state_valid CHECK (state IN ('held', 'ordered', 'sold', 'released'))
);
CREATE INDEX reservations_cart_idx ON reservations (shopper_id, drop_id) WHERE state = 'held';
CREATE INDEX reservations_expiry_idx ON reservations (expires_at) WHERE state = 'held';
CREATE INDEX reservations_order_idx ON reservations (order_id) WHERE order_id IS NOT NULL;

-- Stripe events already applied, recorded in the transaction that applied
-- them, so that a redelivery changes nothing.
CREATE TABLE stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    order_id    bigint,
    outcome     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- checkout_lapsed reports whether variant has held reservations past their
-- expiry at now.
CREATE FUNCTION checkout_lapsed(p_variant bigint, p_now timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM reservations
                   WHERE state = 'held' AND expires_at <= p_now AND variant_id = p_variant)
$$;

-- checkout_reserve is the whole of cart.add in one round trip: check the
-- variant belongs to the drop, price it (the card's deal price when the
-- caller says the card is shown), count the units against the shopper's
-- limit, take stock, record the hold. status is ok, unknown_variant,
-- card_mismatch, vip_only, card_expired, limit_reached or sold_out; on anything but ok
-- nothing has changed. Unless p_durable, the transaction commits without
-- waiting for the WAL flush: a PostgreSQL crash may then forget the last
-- moments of holds, but always a hold together with its stock (WAL order is
-- kept), so nothing is oversold or leaked; orders and payments always wait.
-- +goose StatementBegin
CREATE FUNCTION checkout_reserve(
    p_shopper text, p_drop bigint, p_burst bigint, p_variant bigint, p_qty integer,
    p_card bigint, p_card_shown boolean, p_default_limit integer, p_shard integer,
    p_now timestamptz, p_expires timestamptz, p_durable boolean, p_fast_only boolean, p_vip boolean,
    OUT status text, OUT reservation_id bigint, OUT unit_price bigint, OUT shopper_limit integer,
    OUT lapsed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_product bigint;
    v_drop    bigint;
    v_card    record;
    v_shard   integer;
    v_total   bigint;
    v_need    integer;
    v_take    integer;
    r         record;
BEGIN
    IF NOT p_durable THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    SELECT v.price, v.product_id, p.drop_id INTO unit_price, v_product, v_drop
    FROM variants v JOIN products p ON p.id = v.product_id
    WHERE v.id = p_variant;
    IF NOT FOUND OR v_drop <> p_drop THEN
        status := 'unknown_variant';
        RETURN;
    END IF;
    shopper_limit := p_default_limit;
    IF p_card IS NOT NULL THEN
        SELECT c.product_id, c.variant_id, c.deal_price, c.shopper_limit, c.vip_only INTO v_card
        FROM cards c WHERE c.id = p_card AND c.drop_id = p_drop;
        IF NOT FOUND OR v_card.product_id <> v_product
           OR (v_card.variant_id IS NOT NULL AND v_card.variant_id <> p_variant) THEN
            status := 'card_mismatch';
            RETURN;
        END IF;
        IF v_card.vip_only AND NOT p_vip THEN
            status := 'vip_only';
            RETURN;
        END IF;
        IF NOT p_card_shown THEN
            status := 'card_expired';
            RETURN;
        END IF;
        unit_price := coalesce(v_card.deal_price, unit_price);
        shopper_limit := coalesce(v_card.shopper_limit, shopper_limit);
    END IF;
    -- lapsed (set with a refusal below) tells the caller that this variant
    -- has lapsed holds no sweep has released yet: it reclaims them before
    -- taking a sold_out or limit_reached as final.
    IF p_qty > shopper_limit THEN
        status := 'limit_reached';
        lapsed := checkout_lapsed(p_variant, p_now);
        RETURN;
    END IF;
    -- Fast path: the caller's shard, conditionally; it can never go below 0.
    UPDATE stock SET available = available - p_qty
    WHERE variant_id = p_variant AND shard = p_shard AND available >= p_qty;
    IF FOUND THEN
        v_shard := p_shard;
    ELSIF NOT p_fast_only THEN
        -- That shard is short. Try shards that had enough in a fresh
        -- snapshot, one conditional update at a time (no waiting on more
        -- than one row lock, so no convoy behind a near-empty shard).
        FOR attempt IN 1..8 LOOP
            UPDATE stock SET available = available - p_qty
            WHERE variant_id = p_variant AND available >= p_qty AND shard = (
                SELECT s.shard FROM stock s WHERE s.variant_id = p_variant AND s.available >= p_qty
                ORDER BY random() LIMIT 1)
            RETURNING shard INTO v_shard;
            EXIT WHEN v_shard IS NOT NULL;
            -- No single shard has enough: sold out, or the units are split
            -- over several shards (only when qty > 1).
            SELECT coalesce(sum(s.available), 0) INTO v_total FROM stock s WHERE s.variant_id = p_variant;
            EXIT WHEN v_total < p_qty;
        END LOOP;
    END IF;
    IF v_shard IS NULL THEN
        SELECT coalesce(sum(s.available), 0) INTO v_total FROM stock s WHERE s.variant_id = p_variant;
        IF v_total >= p_qty AND p_fast_only THEN
            -- Inside a batch, locking every shard could deadlock with
            -- another batch: the caller retries this one on its own.
            status := 'contended';
            RETURN;
        END IF;
        IF v_total >= p_qty THEN
            -- Lock every shard in order and take from as many as needed.
            v_total := 0;
            FOR r IN SELECT s.available FROM stock s WHERE s.variant_id = p_variant ORDER BY s.shard FOR UPDATE LOOP
                v_total := v_total + r.available;
            END LOOP;
        END IF;
        IF v_total < p_qty THEN
            -- Nothing was written: a sold-out answer costs no write.
            status := 'sold_out';
            lapsed := checkout_lapsed(p_variant, p_now);
            RETURN;
        END IF;
        v_need := p_qty;
        FOR r IN SELECT s.shard, s.available FROM stock s
                 WHERE s.variant_id = p_variant AND s.available > 0 ORDER BY s.available DESC, s.shard LOOP
            EXIT WHEN v_need = 0;
            v_take := least(r.available, v_need);
            UPDATE stock SET available = available - v_take WHERE variant_id = p_variant AND shard = r.shard;
            v_shard := coalesce(v_shard, r.shard);
            v_need := v_need - v_take;
        END LOOP;
    END IF;

    -- The limit: one conditional upsert on the shopper's own row. Concurrent
    -- adds by the same shopper queue on it and re-check the condition. Over
    -- the limit, the units go back; no other transaction ever saw them gone.
    INSERT INTO shopper_units AS u (shopper_id, drop_id, variant_id, units)
    VALUES (p_shopper, p_drop, p_variant, p_qty)
    ON CONFLICT (shopper_id, drop_id, variant_id)
    DO UPDATE SET units = u.units + EXCLUDED.units
    WHERE u.units + EXCLUDED.units <= shopper_limit;
    IF NOT FOUND THEN
        UPDATE stock SET available = available + p_qty WHERE variant_id = p_variant AND shard = v_shard;
        status := 'limit_reached';
        lapsed := checkout_lapsed(p_variant, p_now);
        RETURN;
    END IF;

    INSERT INTO reservations (shopper_id, drop_id, burst_id, card_id, variant_id, shard, qty, unit_price, created_at, expires_at)
    VALUES (p_shopper, p_drop, p_burst, p_card, p_variant, v_shard, p_qty, unit_price, p_now, p_expires)
    RETURNING id INTO reservation_id;
    status := 'ok';
END
$$;
-- +goose StatementEnd

-- checkout_reserve_batch runs many reservations in one call and one
-- transaction, in (variant, shard) order so that concurrent batches take
-- shard locks in the same order. p_reqs is a JSON array of objects with the
-- parameters of checkout_reserve (i: the caller's index). A reservation whose
-- shard is short answers contended (unless sold out), for the caller to run
-- on its own: trying other shards here could take locks out of order.
-- +goose StatementBegin
CREATE FUNCTION checkout_reserve_batch(p_reqs jsonb, p_now timestamptz, p_durable boolean)
RETURNS TABLE (i integer, status text, shopper_limit integer, lapsed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    q record;
    r record;
BEGIN
    FOR q IN SELECT * FROM jsonb_to_recordset(p_reqs) AS x(
            i integer, shopper text, drop_id bigint, burst_id bigint, variant_id bigint, qty integer,
            card_id bigint, card_shown boolean, lim integer, shard integer, expires timestamptz, vip boolean)
            ORDER BY x.variant_id, x.shard, x.i LOOP
        SELECT * INTO r FROM checkout_reserve(q.shopper, q.drop_id, q.burst_id, q.variant_id, q.qty, q.card_id,
            q.card_shown, q.lim, q.shard, p_now, q.expires, p_durable, true, q.vip);
        i := q.i;
        status := r.status;
        shopper_limit := r.shopper_limit;
        lapsed := r.lapsed;
        RETURN NEXT;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION checkout_reserve_batch;
DROP FUNCTION checkout_reserve;
DROP FUNCTION checkout_lapsed;
DROP TABLE stripe_events;
DROP TABLE reservations;
DROP TABLE orders;
DROP TABLE shopper_units;
UPDATE stock s SET available = t.total
FROM (SELECT variant_id, sum(available)::integer AS total FROM stock GROUP BY variant_id) t
WHERE s.variant_id = t.variant_id AND s.shard = 0;
DELETE FROM stock WHERE shard <> 0;
ALTER TABLE stock DROP CONSTRAINT stock_shard_range;
ALTER TABLE stock DROP CONSTRAINT stock_pkey;
ALTER TABLE stock DROP COLUMN shard;
ALTER TABLE stock ADD CONSTRAINT stock_pkey PRIMARY KEY (variant_id);
