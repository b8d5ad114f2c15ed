// The shoppable overlay: renders cards (image, title, price and deal price,
// size picker with "only N left", deal countdown, add to cart) and keeps
// their stock live. It talks to the shop through an onAdd callback.
import { h, money, picture, countdown, toast } from './util.js';

const LOW_STOCK = 5;

export class CardDeck {
  /**
   * @param {HTMLElement} root container for the cards
   * @param {{currency: string, clock: import('./util.js').Clock, onAdd: (card, variant) => Promise<void>, empty?: HTMLElement}} opts
   */
  constructor(root, opts) {
    this.root = root;
    this.opts = opts;
    this.cards = new Map(); // id → {card, el, refs}
    this.stock = new Map(); // variant id → available
    this.timer = setInterval(() => this.tick(), 1000);
  }

  /** Shows card (or refreshes it if already shown). */
  show(card) {
    if (!card?.id) return;
    this.seen ??= new Map();
    for (const v of card.variants) {
      if (v.available != null) this.stock.set(v.id, v.available);
      this.seen.set(String(v.id), { title: card.product.title, label: v.label, image: card.product.images[0] || null,
        price: card.dealPrice != null && (v.price == null || card.dealPrice < v.price) ? card.dealPrice : v.price });
    }
    const existing = this.cards.get(card.id);
    const entry = this.render(card, existing?.selected);
    if (existing) existing.el.replaceWith(entry.el);
    else {
      this.root.prepend(entry.el);
      // Tell screen-reader users what just appeared over the video.
      const announce = document.getElementById('announce');
      const prices = card.variants.map((v) => v.price).filter((p) => p != null);
      const price = card.dealPrice ?? (prices.length ? Math.min(...prices) : null);
      if (announce) announce.textContent = `Now showing: ${card.product.title}${price != null ? `, ${money(price, this.opts.currency)}` : ''}`;
    }
    this.cards.set(card.id, entry);
    this.updateEmpty();
  }

  hide(cardId) {
    const e = this.cards.get(cardId);
    if (!e) return;
    this.cards.delete(cardId);
    e.el.remove();
    this.updateEmpty();
  }

  /** Replaces the shown set with cards (used on welcome and by the replay). */
  set(cards) {
    const keep = new Set(cards.map((c) => c.id));
    for (const id of [...this.cards.keys()]) if (!keep.has(id)) this.hide(id);
    for (const c of cards) if (!this.cards.has(c.id)) this.show(c);
  }

  ids() { return [...this.cards.keys()]; }

  /** What the deck knows of a variant (title, label, price, image), from any card it has shown. */
  describe(variantId) {
    return this.seen?.get(String(variantId)) || null;
  }

  setStock(variantId, available) {
    if (variantId == null || available == null) return;
    this.stock.set(variantId, available);
    for (const e of this.cards.values()) if (e.card.variants.some((v) => v.id === variantId)) this.refreshStock(e);
  }

  updateEmpty() { if (this.opts.empty) this.opts.empty.hidden = this.cards.size > 0; }

  render(card, selected) {
    const { currency } = this.opts;
    const titleId = `card-${card.id}-title`;
    const refs = {};
    const prices = card.variants.map((v) => v.price).filter((p) => p != null);
    const base = prices.length ? Math.min(...prices) : null;
    const deal = card.dealPrice != null && (base == null || card.dealPrice < base) ? card.dealPrice : null;
    const priceEl = h('p', { class: 'price' },
      deal != null ? [h('span', { class: 'now' }, money(deal, currency)), h('span', { class: 'was' }, h('span', { class: 'sr-only' }, 'was '), money(base, currency)), h('span', { class: 'deal-tag' }, 'Deal')]
        : h('span', { class: 'now' }, money(base, currency)));
    refs.timer = h('p', { class: 'deal-timer', hidden: !card.endsAt });
    const name = `size-${card.id}`;
    const single = card.variants.length === 1;
    refs.inputs = card.variants.map((v) => {
      const input = h('input', { type: 'radio', name, value: v.id, 'aria-describedby': `${titleId}-low` });
      input.addEventListener('change', () => { entry.selected = v.id; this.refreshStock(entry); });
      return { v, input, label: h('label', { class: 'size' }, input, h('span', {}, v.label)) };
    });
    refs.low = h('p', { class: 'low-stock', id: `${titleId}-low`, 'aria-live': 'polite' });
    refs.add = h('button', { class: 'button button-primary add', type: 'button' }, 'Add to cart');
    const entry = { card, refs, selected: selected ?? (single ? card.variants[0]?.id : null) };
    refs.add.addEventListener('click', () => this.add(entry));
    entry.el = h('article', { class: 'card', 'aria-labelledby': titleId, dataset: { card: card.id } },
      h('div', { class: 'card-media' }, picture(card.product.images[0], card.product.title, '(min-width: 900px) 120px, 88px')),
      h('div', { class: 'card-body' },
        h('h3', { class: 'card-title', id: titleId }, card.product.title),
        priceEl,
        refs.timer,
        single && card.variants[0]?.label === 'OS' ? null
          : h('fieldset', { class: 'sizes' }, h('legend', {}, single ? 'Option' : 'Size'), refs.inputs.map((i) => i.label)),
        refs.low,
        refs.add));
    for (const i of refs.inputs) i.input.checked = i.v.id === entry.selected;
    this.refreshStock(entry);
    this.tickOne(entry);
    return entry;
  }

  refreshStock(entry) {
    const { refs } = entry;
    let selectedLeft = null;
    let allOut = true;
    for (const { v, input, label } of refs.inputs) {
      const left = this.stock.get(v.id) ?? v.available;
      const out = left != null && left <= 0;
      input.disabled = out;
      if (!out) allOut = false;
      label.querySelector('span').setAttribute('aria-label', `${v.label}${out ? ', sold out' : left != null && left <= LOW_STOCK ? `, only ${left} left` : ''}`);
      if (v.id === entry.selected) selectedLeft = left;
      if (out && input.checked) { input.checked = false; entry.selected = null; }
    }
    const sel = refs.inputs.find((i) => i.v.id === entry.selected);
    if (allOut) refs.low.textContent = 'Sold out';
    else if (sel && selectedLeft != null && selectedLeft <= LOW_STOCK) refs.low.textContent = `Only ${selectedLeft} left in ${sel.v.label}`;
    else {
      const low = refs.inputs.map((i) => ({ i, left: this.stock.get(i.v.id) ?? i.v.available })).filter((x) => x.left != null && x.left > 0 && x.left <= LOW_STOCK);
      refs.low.textContent = low.length ? `Only ${low.map((x) => `${x.left} ${x.i.v.label}`).join(', ')} left` : '';
    }
    refs.add.disabled = allOut || entry.busy;
    refs.add.textContent = allOut ? 'Sold out' : entry.selected ? 'Add to cart' : refs.inputs.length > 1 ? 'Pick a size' : 'Add to cart';
  }

  async add(entry) {
    const variant = entry.card.variants.find((v) => v.id === entry.selected);
    if (!variant) {
      toast('Pick a size first');
      entry.refs.inputs.find((i) => !i.input.disabled)?.input.focus();
      return;
    }
    entry.busy = true;
    this.refreshStock(entry);
    entry.refs.add.textContent = 'Adding…';
    try { await this.opts.onAdd(entry.card, variant); } finally { entry.busy = false; this.refreshStock(entry); }
  }

  tick() { for (const e of this.cards.values()) this.tickOne(e); }

  tickOne(entry) {
    const ends = entry.card.endsAt;
    if (!ends) return;
    const ms = this.opts.clock.until(ends);
    if (!Number.isFinite(ms)) { entry.refs.timer.hidden = true; return; }
    entry.refs.timer.hidden = false;
    entry.refs.timer.textContent = ms > 0 ? `${entry.card.dealPrice != null ? 'Deal ends' : 'Ends'} in ${countdown(ms)}` : 'Ended';
  }
}
