// The one place that knows the shopper channel's wire format. It maps each
// server message to a normalized event for the UI, reading field names
// defensively: if the server renames a field, fix it here, once.

const str = (v) => (v == null ? null : String(v));
const num = (v) => (v == null || v === '' || Number.isNaN(Number(v)) ? null : Number(v));
const first = (...vs) => vs.find((v) => v !== undefined && v !== null);
const arr = (v) => (Array.isArray(v) ? v : []);

/** A variant: {id, label, price, available}. */
export function variant(v = {}) {
  return {
    id: str(first(v.id, v.variant_id, v.variant)),
    label: str(first(v.label, v.size, v.name, v.sku)) || '',
    price: num(first(v.price, v.amount, v.unit_price)),
    available: num(first(v.available, v.stock, v.remaining)),
  };
}

/** A card: {id, product{id,title,images}, variants[], dealPrice, endsAt, mediaTime}. */
export function card(c = {}) {
  const p = c.product || {};
  const images = arr(first(p.images, c.images)).map((i) => (typeof i === 'string' ? i : i?.url)).filter(Boolean);
  return {
    id: str(first(c.id, c.card_id)),
    product: { id: str(first(p.id, c.product_id)), title: first(p.title, p.name, c.title) || 'Product', images },
    variants: arr(first(c.variants, p.variants)).map(variant),
    dealPrice: num(first(c.deal_price, c.dealPrice)),
    endsAt: first(c.ends_at, c.endsAt, c.until) || null,
    vipOnly: Boolean(first(c.vip_only, false)),
    limit: num(first(c.shopper_limit, c.limit)),
    currency: str(first(c.currency, p.currency)),
    mediaTime: num(first(c.media_time, c.media_time_s, c.at)),
  };
}

/** A cart: {items[{variantId,cardId,qty,title,label,price,image}], total, currency, holdUntil}. */
export function cart(c = {}) {
  const items = arr(first(c.items, c.lines, c.reservations)).map((i) => ({
    variantId: str(first(i.variant, i.variant_id, i.variant?.id)),
    cardId: str(first(i.card, i.card_id)),
    qty: num(first(i.qty, i.quantity)) || 1,
    title: first(i.title, i.product_title, i.product?.title) || '',
    label: first(i.label, i.variant_label, i.variant?.label) || '',
    price: num(first(i.price, i.unit_price, i.amount)),
    image: first(i.image, arr(i.product?.images)[0], arr(i.images)[0]) || null,
    holdUntil: first(i.expires_at, i.hold_until, i.held_until) || null,
  }));
  // null when the server sends none: the cart drawer sums its lines then.
  const total = num(first(c.total, c.amount, c.subtotal));
  const holds = items.map((i) => i.holdUntil).filter(Boolean).sort();
  return { items, total, currency: str(c.currency), holdUntil: first(c.expires_at, c.hold_until, c.held_until, holds[0]) || null };
}

/** Normalizes one server message; unknown types come back as {type, raw}. */
export function normalize(m) {
  if (!m || typeof m !== 'object' || typeof m.type !== 'string') return null;
  const b = m.burst && typeof m.burst === 'object' ? m.burst : {};
  switch (m.type) {
    case 'welcome':
      return {
        type: 'welcome',
        state: first(m.state, b.state),
        endsAt: first(m.ends_at, b.ends_at) || null,
        startsAt: first(m.starts_at, m.scheduled_at, b.scheduled_at) || null,
        liveAt: first(m.live_at, b.live_at) || null,
        cards: arr(first(m.cards, m.active_cards)).map(card),
        cart: m.cart ? cart(m.cart) : null,
        viewers: num(m.viewers),
        serverTime: first(m.server_time, m.now) || null,
        shopper: str(first(m.shopper, m.shopper_id)),
      };
    case 'card.show':
      return { type: 'card.show', card: card(m.card || m) };
    case 'card.hide':
      return { type: 'card.hide', cardId: str(first(m.card_id, m.card?.id, typeof m.card !== 'object' ? m.card : null, m.id)) };
    case 'stock':
      return { type: 'stock', variantId: str(first(m.variant, m.variant_id)), available: num(m.available) };
    case 'viewers':
      return { type: 'viewers', count: num(first(m.viewers, m.count)) };
    case 'burst':
      return { type: 'burst', state: first(m.state, b.state), endsAt: first(m.ends_at, b.ends_at) || null, liveAt: first(m.live_at, b.live_at) || null };
    case 'cart':
      return { type: 'cart', cart: cart(m.cart || m) };
    case 'ack':
      return { type: 'ack', req: str(m.req), url: first(m.url, m.checkout_url, m.data?.url) || null, raw: m };
    case 'checkout':
      return { type: 'ack', req: str(m.req), url: first(m.url, m.checkout_url) || null, raw: m };
    case 'error':
      return { type: 'error', req: str(m.req), code: str(m.code) || 'error', message: str(m.message) || 'Something went wrong' };
    case 'sale':
      return {
        type: 'sale',
        title: first(m.title, m.product_title, m.product?.title) || 'Sale',
        label: first(m.label, m.variant_label) || '',
        qty: num(first(m.qty, m.quantity, m.items)) || 1,
        amount: num(first(m.amount, m.total)),
        currency: str(m.currency),
      };
    default:
      return { type: m.type, raw: m };
  }
}

/** Friendly words for error codes the channel sends. */
export function errorMessage(code, fallback) {
  return ({
    sold_out: 'Sold out, sorry. Try another size.',
    limit: 'That is the most you can hold of this one.',
    limit_reached: 'That is the most you can hold of this one.',
    burst_ended: 'This burst has ended.',
    not_found: 'That item is no longer available.',
    rate_limited: 'Slow down a little and try again.',
    cart_empty: 'Your cart is empty.',
  })[code] || fallback || 'Something went wrong. Try again.';
}

/**
 * The replay timeline (/replay/{burst}/timeline.json, written by the
 * recorder): card moments in media seconds, and clips. Accepts
 * {cards|events|moments: [...], clips: [...]} or a bare array.
 */
export function timeline(t) {
  const list = Array.isArray(t) ? t : arr(first(t?.cards, t?.events, t?.moments));
  const cards = list.map((e) => {
    const start = num(first(e.start_s, e.start, e.at_s, e.at, e.media_time, e.offset_s, e.shown_at_s));
    const end = num(first(e.end_s, e.end, e.hidden_at_s)) ?? (start != null ? start + (num(first(e.duration_s, e.duration)) ?? 60) : null);
    return { start, end, card: card(e.card || e) };
  }).filter((e) => e.start != null && e.card.id);
  const clips = arr(Array.isArray(t) ? [] : t?.clips).map((c) => ({
    title: first(c.title, c.name) || 'Clip',
    start: num(first(c.start_s, c.start, c.from)),
    end: num(first(c.end_s, c.end, c.to)),
    url: first(c.url, c.href) || null,
  })).filter((c) => c.start != null || c.url);
  return { cards, clips };
}
