// The cart drawer: items, total, the hold timer of the reservation, and
// checkout, which opens Stripe in a new tab so the stream keeps playing.
import { $, h, money, picture, countdown, toast } from './util.js';
import { errorMessage } from './messages.js';

export class CartDrawer {
  /** @param {{channel: import('./channel.js').Channel, clock, currency: string}} opts */
  constructor(opts) {
    this.opts = opts;
    this.cart = { items: [], total: 0, holdUntil: null };
    this.drawer = $('cart');
    this.button = $('cart-button');
    this.button.addEventListener('click', () => this.open());
    $('cart-close').addEventListener('click', () => this.close());
    this.drawer.addEventListener('click', (e) => { if (e.target === this.drawer) this.close(); });
    this.drawer.addEventListener('keydown', (e) => this.trap(e));
    $('checkout').addEventListener('click', () => this.checkout());
    setInterval(() => this.tickHold(), 1000);
    this.render();
  }

  open() {
    this.lastFocus = document.activeElement;
    this.drawer.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    $('cart-close').focus();
  }

  close() {
    this.drawer.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    (this.lastFocus || this.button).focus();
  }

  trap(e) {
    if (e.key === 'Escape') { this.close(); return; }
    if (e.key !== 'Tab') return;
    const f = [...this.drawer.querySelectorAll('button:not([disabled]), a[href], input:not([disabled])')];
    if (!f.length) return;
    if (e.shiftKey && document.activeElement === f[0]) { e.preventDefault(); f.at(-1).focus(); }
    else if (!e.shiftKey && document.activeElement === f.at(-1)) { e.preventDefault(); f[0].focus(); }
  }

  set(cart) {
    const before = this.count();
    // The channel may send bare lines ({variant, qty}); fill in what the
    // page already knows about that variant from the cards it has shown.
    const known = this.opts.describe || (() => null);
    cart.items = cart.items.map((i) => {
      const k = known(i.variantId);
      return k ? { ...i, title: i.title || k.title, label: i.label || k.label, price: i.price ?? k.price, image: i.image || k.image } : i;
    });
    if (cart.total == null) cart.total = cart.items.reduce((sum, i) => sum + (i.price || 0) * i.qty, 0);
    this.cart = cart;
    this.render();
    if (this.count() > before) { this.button.classList.remove('bump'); void this.button.offsetWidth; this.button.classList.add('bump'); }
  }

  count() { return this.cart.items.reduce((n, i) => n + i.qty, 0); }

  render() {
    const { currency } = this.opts;
    const currencyOf = this.cart.currency || currency;
    $('cart-count').textContent = String(this.count());
    const list = $('cart-items');
    list.replaceChildren(...this.cart.items.map((i) => h('li', { class: 'cart-item' },
      picture(i.image, i.title, '56px'),
      h('div', { class: 'meta' }, h('strong', {}, i.title || 'Item'), h('span', {}, [i.label, i.qty > 1 ? `× ${i.qty}` : null, money(i.price, currencyOf)].filter(Boolean).join(' · '))),
      h('button', { class: 'icon-button', type: 'button', 'aria-label': `Remove ${i.title} ${i.label}`, onclick: () => this.remove(i) }, '✕'))));
    $('cart-empty').hidden = this.cart.items.length > 0;
    $('cart-total').textContent = money(this.cart.total, currencyOf);
    $('checkout').disabled = this.cart.items.length === 0;
    this.tickHold();
  }

  tickHold() {
    const el = $('cart-hold');
    const ms = this.cart.holdUntil && this.cart.items.length ? this.opts.clock.until(this.cart.holdUntil) : NaN;
    el.hidden = !Number.isFinite(ms);
    if (!el.hidden) el.textContent = ms > 0 ? `We're holding these for you for ${countdown(ms)}` : 'Your hold has expired; items may be released.';
  }

  async add(card, variant) {
    try {
      await this.opts.channel.request('cart.add', { variant: variant.id, qty: 1, card: card.id });
      toast(`Added ${card.product.title}${variant.label && variant.label !== 'OS' ? ` (${variant.label})` : ''}`);
    } catch (err) {
      toast(err.code === 'disconnected' ? 'The live shop is reconnecting. Try again in a moment.' : errorMessage(err.code, err.message), { error: true });
    }
  }

  async remove(item) {
    try { await this.opts.channel.request('cart.remove', { variant: item.variantId, qty: item.qty, card: item.cardId || undefined }); }
    catch (err) { toast(errorMessage(err.code, err.message), { error: true }); }
  }

  async checkout() {
    // Open the tab now, inside the click, so popup blockers allow it; point
    // it at Stripe when the URL arrives.
    const tab = window.open('about:blank', '_blank');
    const btn = $('checkout');
    btn.disabled = true;
    btn.textContent = 'Opening checkout…';
    try {
      const ack = await this.opts.channel.request('checkout', {}, 20000);
      if (!ack.url) throw Object.assign(new Error('No checkout link came back'), { code: 'no_url' });
      if (tab) { tab.opener = null; tab.location.href = ack.url; } else location.assign(ack.url);
      document.body.dataset.checkoutUrl = ack.url;
    } catch (err) {
      tab?.close();
      toast(errorMessage(err.code, err.message), { error: true });
    } finally {
      btn.textContent = 'Checkout';
      btn.disabled = this.cart.items.length === 0;
    }
  }
}
