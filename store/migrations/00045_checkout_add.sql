-- +goose Up
-- checkout_reserve answers a sold-out variant from one sum of its shards
-- instead of a conditional update across shards and two sums (the rest is as
-- in 00030).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION checkout_reserve(
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
        -- That shard is short. A sold-out variant is answered from one sum
        -- (most answers of a rush); otherwise try shards that had enough in
        -- a fresh snapshot, one conditional update at a time (no waiting on
        -- more than one row lock, so no convoy behind a near-empty shard).
        SELECT coalesce(sum(s.available), 0) INTO v_total FROM stock s WHERE s.variant_id = p_variant;
        IF v_total >= p_qty THEN
            FOR attempt IN 1..8 LOOP
                UPDATE stock SET available = available - p_qty
                WHERE variant_id = p_variant AND available >= p_qty AND shard = (
                    SELECT s.shard FROM stock s WHERE s.variant_id = p_variant AND s.available >= p_qty
                    ORDER BY random() LIMIT 1)
                RETURNING shard INTO v_shard;
                EXIT WHEN v_shard IS NOT NULL;
                -- No single shard has enough: sold out, or the units are
                -- split over several shards (only when qty > 1).
                SELECT coalesce(sum(s.available), 0) INTO v_total FROM stock s WHERE s.variant_id = p_variant;
                EXIT WHEN v_total < p_qty;
            END LOOP;
        END IF;
    END IF;
    IF v_shard IS NULL THEN
        IF v_total IS NULL THEN
            SELECT coalesce(sum(s.available), 0) INTO v_total FROM stock s WHERE s.variant_id = p_variant;
        END IF;
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

-- checkout_add is cart.add in one statement: checkout_reserve, then, only
-- when the hold was made, the shopper's cart (the columns of the cart read in
-- checkout/cart.go). A refusal returns one row with the status and no cart,
-- so the many sold_out answers of a rush cost no cart read. The first three
-- columns are those of checkout_reserve; the rest are NULL on a refusal.
-- +goose StatementBegin
CREATE FUNCTION checkout_add(
    p_shopper text, p_drop bigint, p_burst bigint, p_variant bigint, p_qty integer,
    p_card bigint, p_card_shown boolean, p_default_limit integer, p_shard integer,
    p_now timestamptz, p_expires timestamptz, p_durable boolean, p_vip boolean)
RETURNS TABLE (
    c_status text, c_limit integer, c_lapsed boolean,
    c_currency text, c_po_id bigint, c_po_amount bigint, c_po_url text, c_po_expires timestamptz,
    c_variant bigint, c_product bigint, c_sku text, c_label text, c_title text, c_qty integer,
    c_unit_price bigint, c_card bigint, c_expires timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT x.status, x.shopper_limit, x.lapsed INTO r
    FROM checkout_reserve(p_shopper, p_drop, p_burst, p_variant, p_qty, p_card, p_card_shown, p_default_limit,
                          p_shard, p_now, p_expires, p_durable, false, p_vip) x;
    c_status := r.status;
    c_limit := r.shopper_limit;
    c_lapsed := r.lapsed;
    IF r.status <> 'ok' THEN
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT r.status, r.shopper_limit, r.lapsed,
        d.currency, po.id, po.amount, po.checkout_url, po.expires_at,
        i.variant_id, i.product_id, i.sku, i.label, i.title, i.qty, i.unit_price, i.card_id, i.expires_at
    FROM drops d
    LEFT JOIN LATERAL (
        SELECT o.id, o.amount, coalesce(o.checkout_url, '') AS checkout_url, o.expires_at FROM orders o
        WHERE o.shopper_id = p_shopper AND o.drop_id = d.id AND o.status = 'pending' AND o.expires_at > p_now
        ORDER BY o.id DESC LIMIT 1
    ) po ON true
    LEFT JOIN LATERAL (
        SELECT h.variant_id, v.product_id, v.sku, v.label, p.title, sum(h.qty)::integer AS qty, h.unit_price, h.card_id,
            min(h.expires_at) AS expires_at, min(h.id) AS first
        FROM reservations h
        JOIN variants v ON v.id = h.variant_id
        JOIN products p ON p.id = v.product_id
        WHERE h.shopper_id = p_shopper AND h.drop_id = d.id AND h.state = 'held' AND h.expires_at > p_now
        GROUP BY h.variant_id, v.product_id, v.sku, v.label, p.title, h.unit_price, h.card_id
    ) i ON true
    WHERE d.id = p_drop
    ORDER BY i.first;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION checkout_add;
-- checkout_reserve as in 00030.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION checkout_reserve(
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
