// The replay page: plays the recording (native HLS where the browser has
// it, else the vendored hls.js light build), shows each card at the moment
// it was shown live and keeps it shoppable; lists the burst's moments.
import { $, h, boot, Clock, offset, toast, mark } from './util.js';
import { timeline as parseTimeline } from './messages.js';
import { Channel } from './channel.js';
import { CardDeck } from './cards.js';
import { CartDrawer } from './cart.js';

mark('moduleStart');
const B = boot();
const clock = new Clock(B.server_time);
const currency = B.drop.currency;
const video = $('video');
$('burst-title').textContent = B.burst.title;
$('drop-link').textContent = `← ${B.drop.title}`;
$('drop-link').href = B.links.drop;

// Backstage: the recording is for VIP pass holders, as the live room was.
// The pass (kept per burst by the watch page too) rides as ?pass= on every
// URL, since neither a native HLS player nor a websocket sends our headers.
const passKey = `dropcast.pass.${B.burst.id}`;
let pass = B.burst.vip_only ? sessionStorage.getItem(passKey) : null;
const withPass = (u) => {
  if (!pass || !u) return u;
  const x = new URL(u, location.href);
  x.searchParams.set('pass', pass);
  return x.href;
};

const channel = new Channel(B.links.ws);
const cartDrawer = new CartDrawer({ channel, clock, currency, describe: (id) => deck.describe(id) });
// Replayed deals show no countdown: the live deal window has passed, and
// the price the channel accepts is the server's to decide.
const deck = new CardDeck($('cards'), { currency, clock: { until: () => NaN }, empty: $('cards-empty'), onAdd: (c, v) => cartDrawer.add(c, v) });
channel.addEventListener('message', (ev) => {
  const m = ev.detail;
  if (m.type === 'cart') cartDrawer.set(m.cart);
  if (m.type === 'welcome' && m.cart) cartDrawer.set(m.cart);
  if (m.type === 'stock') deck.setStock(m.variantId, m.available);
});


// Until the recorder's timeline loads, the run-of-show stands in for it:
// a card's offset from the live start is its media time.
let moments = (B.cards || []).map((c) => ({
  start: c.offset_s, end: c.offset_s + c.duration_s,
  card: { id: String(c.id), product: c.product, variants: c.variants, dealPrice: c.deal_price, endsAt: null },
}));
let clips = [];

function state(kicker, big, note, spinner) {
  $('overlay-state').replaceChildren(...(kicker == null ? [] : [
    spinner ? h('div', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    h('p', { class: 'kicker' }, kicker), big ? h('p', { class: 'big' }, big) : null, note ? h('p', { class: 'note' }, note) : null,
  ].filter(Boolean)));
}

function sync() {
  const t = video.currentTime;
  deck.set(moments.filter((m) => t >= m.start && t < m.end).map((m) => m.card));
}
video.addEventListener('timeupdate', sync);
video.addEventListener('seeked', sync);
video.addEventListener('playing', () => { mark('firstFrame'); state(null); }, { once: true });

function renderClips() {
  const items = clips.length ? clips : moments.map((m) => ({ title: m.card.product.title, start: m.start, end: m.end }));
  $('clips').replaceChildren(...items.map((c) => h('li', {},
    c.url && c.start == null ? h('a', { class: 'button', href: withPass(c.url) }, c.title)
      : h('button', { type: 'button', onclick: () => { video.currentTime = c.start; video.play().catch(() => {}); } },
        h('span', {}, c.title), h('span', { class: 't' }, offset(c.start))))));
}

async function loadTimeline() {
  try {
    const res = await fetch(withPass(B.links.timeline));
    if (!res.ok) return;
    const t = parseTimeline(await res.json());
    if (t.cards.length) {
      // Fill in product detail from the run-of-show where the timeline is terse.
      const byId = new Map(moments.map((m) => [m.card.id, m.card]));
      moments = t.cards.map((m) => ({ ...m, card: m.card.variants.length ? m.card : { ...m.card, ...byId.get(m.card.id), id: m.card.id } }));
    }
    clips = t.clips;
  } catch { /* keep the run-of-show */ }
  renderClips();
  sync();
}

async function loadHLS() {
  state('Replay', null, 'Loading the recording…', true);
  const src = withPass(B.links.hls);
  const head = await fetch(src, { method: 'GET' }).catch(() => null);
  if (head && (head.status === 401 || head.status === 403)) {
    vipGate(true);
    return;
  }
  if (!head || !head.ok) {
    state('Replay', 'Coming soon', B.burst.state === 'ended'
      ? 'The recording is being prepared. This page will pick it up in a moment.'
      : 'The replay appears here once the live burst ends.');
    setTimeout(loadHLS, 15000);
    return;
  }
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src;
  } else {
    await loadScript(new URL('../vendor/hls.light.min.js', import.meta.url).href);
    const Hls = window.Hls;
    if (!Hls?.isSupported()) { state('Replay', null, 'This browser cannot play the replay.'); return; }
    const hls = new Hls({ enableWorker: false });
    hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) { state('Replay', null, 'The replay stopped loading. Retrying…', true); hls.startLoad(); } });
    hls.loadSource(src);
    hls.attachMedia(video);
  }
  // Autoplay is allowed muted only; the button (or the controls) unmutes.
  video.muted = true;
  const unmute = $('unmute');
  const syncUnmute = () => { unmute.hidden = !video.muted || video.paused; };
  unmute.addEventListener('click', () => { video.muted = false; video.play().catch(() => {}); });
  for (const ev of ['volumechange', 'play', 'pause']) video.addEventListener(ev, syncUnmute);
  video.play().catch(() => state('Replay', null, 'Press play to start.'));
  state(null);
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = h('script', { src, onload: resolve, onerror: () => reject(new Error('player failed to load')) });
    document.head.append(s);
  });
}

/** Asks for the VIP pass; refused says the last one did not open the replay. */
function vipGate(refused) {
  const form = h('form', { class: 'key-form', onsubmit: (e) => {
    e.preventDefault();
    const value = form.querySelector('input').value.trim();
    if (!value) return;
    pass = value;
    sessionStorage.setItem(passKey, pass);
    start();
  } },
  h('label', { for: 'vip-pass' }, 'VIP pass'),
  h('input', { id: 'vip-pass', type: 'password', autocomplete: 'off', required: true }),
  h('button', { class: 'button button-primary', type: 'submit' }, 'Watch backstage'));
  $('overlay-state').replaceChildren(h('p', { class: 'kicker' }, 'VIP only'), h('p', { class: 'big' }, 'Backstage replay'),
    h('p', { class: 'note' }, 'This replay is for VIP pass holders. Paste your pass to watch.'), form,
    ...(refused ? [h('p', { class: 'form-error', role: 'alert' }, 'That pass did not open the replay.')] : []));
}

function start() {
  if (pass) channel.url.searchParams.set('pass', pass);
  if (channel.ws) channel.ws.close(); // reconnects with the pass
  else channel.connect();
  loadTimeline();
  loadHLS().catch((err) => toast(err.message, { error: true }));
}

renderClips();
if (B.burst.vip_only && !pass) vipGate(false);
else start();
