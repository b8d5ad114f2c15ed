-- +goose Up
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
