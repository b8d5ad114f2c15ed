// The watch page: live video over WHEP, burst lifecycle (starting soon,
// live, ending in 60 s, ended → replay), and the shoppable overlay and cart
// fed by the shopper channel.
import { $, h, boot, Clock, countdown, countdownWords, everySecond, when, toast, mark } from './util.js';
import { LivePlayer } from './player.js';
import { Channel } from './channel.js';
import { CardDeck } from './cards.js';
import { CartDrawer } from './cart.js';

mark('moduleStart');
const B = boot();
const clock = new Clock(B.server_time);
const burst = { ...B.burst };
const currency = B.drop.currency;
const passKey = `dropcast.pass.${burst.id}`;

$('burst-title').textContent = burst.title;
$('drop-link').textContent = `← ${B.drop.title}`;
$('drop-link').href = B.links.drop;

const video = $('video');
const player = new LivePlayer(video, {
  url: B.links.whep,
  token: burst.vip_only ? sessionStorage.getItem(passKey) : null,
  unmute: $('unmute'),
  onState: () => render(),
});

const channel = new Channel(B.links.ws);
// Backstage: the channel needs the VIP pass too (as ?pass=, since a browser
// websocket cannot send an Authorization header).
const savedPass = burst.vip_only ? sessionStorage.getItem(passKey) : null;
if (savedPass) channel.url.searchParams.set('pass', savedPass);
const cartDrawer = new CartDrawer({ channel, clock, currency, describe: (id) => deck.describe(id) });
const deck = new CardDeck($('cards'), { currency, clock, empty: $('cards-empty'), onAdd: (c, v) => cartDrawer.add(c, v) });

channel.addEventListener('message', (ev) => {
  const m = ev.detail;
  switch (m.type) {
    case 'welcome':
      if (m.serverTime) clock.sync(m.serverTime);
      setBurst(m.state, m.endsAt, m.liveAt);
      deck.set(m.cards);
      if (m.cart) cartDrawer.set(m.cart);
      setViewers(m.viewers);
      break;
    case 'card.show': deck.show(m.card); break;
    case 'card.hide': deck.hide(m.cardId); break;
    case 'stock': deck.setStock(m.variantId, m.available); break;
    case 'viewers': setViewers(m.count); break;
    case 'burst': setBurst(m.state, m.endsAt, m.liveAt); break;
    case 'cart': cartDrawer.set(m.cart); break;
    case 'close':
      // No channel on this server (or it is down): follow the burst's state
      // through the public schedule until it comes back.
      if (m.failures >= 2) startPolling();
      break;
    case 'open': stopPolling(); break;
  }
});
channel.connect();

function setViewers(n) {
  if (n == null) return;
  const el = $('viewers');
  el.hidden = false;
  el.textContent = `${n.toLocaleString()} watching`;
  el.setAttribute('aria-label', `${n} watching`);
}

function setBurst(state, endsAt, liveAt) {
  if (state) burst.state = state;
  if (endsAt) burst.ends_at = endsAt;
  if (liveAt) burst.live_at = liveAt;
  render();
}

let pollTimer = null;
let fallbackCards = null;
function startPolling() {
  if (pollTimer) return;
  // Without the channel, show the run-of-show at its scheduled offsets.
  fallbackCards ??= setInterval(scheduledCards, 1000);
  const poll = async () => {
    try {
      const res = await fetch(`/api/drops/${encodeURIComponent(B.drop.slug)}`);
      if (!res.ok) return;
      const d = await res.json();
      if (d.server_time) clock.sync(d.server_time);
      const b = (d.bursts || []).find((x) => String(x.id) === String(burst.id));
      if (!b) return;
      const ends = b.live_at ? new Date(new Date(b.live_at).getTime() + b.max_duration_s * 1000).toISOString() : null;
      setBurst(b.state, ends, b.live_at);
    } catch { /* offline: try again next time */ }
  };
  poll();
  pollTimer = setInterval(poll, 15000);
}
function stopPolling() { clearInterval(pollTimer); pollTimer = null; clearInterval(fallbackCards); fallbackCards = null; }

function scheduledCards() {
  const live = burst.state === 'live' || burst.state === 'ending';
  if (!live || !burst.live_at) { deck.set([]); return; }
  const t = (clock.now() - new Date(burst.live_at).getTime()) / 1000;
  deck.set((B.cards || []).filter((c) => t >= c.offset_s && t < c.offset_s + c.duration_s).map((c) => ({
    id: String(c.id), product: c.product, variants: c.variants, dealPrice: c.deal_price,
    endsAt: new Date(new Date(burst.live_at).getTime() + (c.offset_s + c.duration_s) * 1000).toISOString(),
  })));
}

const stateEl = $('overlay-state');
let shownKey = '';
/** Replaces the stage overlay only when what it says changes (keeps focus stable). */
function overlay(key, build) {
  if (key === shownKey) return;
  shownKey = key;
  stateEl.replaceChildren(...(build ? build() : []));
}

function vipGate() {
  const form = h('form', { class: 'key-form', onsubmit: (e) => {
    e.preventDefault();
    const pass = form.querySelector('input').value.trim();
    if (!pass) return;
    sessionStorage.setItem(passKey, pass);
    player.opts.token = pass;
    channel.url.searchParams.set('pass', pass);
    if (channel.ws) channel.ws.close(); // reconnects with the pass
    shownKey = '';
    player.start();
  } },
  h('label', { for: 'vip-pass' }, 'VIP pass'),
  h('input', { id: 'vip-pass', type: 'password', autocomplete: 'off', required: true }),
  h('button', { class: 'button button-primary', type: 'submit' }, 'Enter backstage'));
  return [h('p', { class: 'kicker' }, 'VIP only'), h('p', { class: 'big' }, 'Backstage'),
    h('p', { class: 'note' }, 'This room is for VIP pass holders. Paste your pass to enter.'), form];
}

function render() {
  const s = burst.state;
  const live = s === 'live' || s === 'ending';
  $('live-badge').hidden = !live;
  if (live && !(burst.vip_only && !player.opts.token) && player.state !== 'forbidden') player.start();
  if (s === 'ended' && player.running) player.stop();

  if (s === 'ended') {
    overlay('ended', () => [h('p', { class: 'kicker' }, 'That’s a wrap'), h('p', { class: 'big' }, 'Burst ended'),
      h('p', { class: 'note' }, 'Missed something? The replay keeps every product, still shoppable.'),
      h('p', { class: 'actions' }, h('a', { class: 'button button-primary', href: B.links.replay }, 'Watch the replay'), h('a', { class: 'button', href: B.links.drop }, 'Next sets'))]);
  } else if (burst.vip_only && (!player.opts.token || player.state === 'forbidden')) {
    overlay(`vip-${player.state}`, () => {
      const els = vipGate();
      if (player.state === 'forbidden') els.push(h('p', { class: 'form-error', role: 'alert' }, 'That pass did not open the room.'));
      return els;
    });
  } else if (s === 'scheduled') {
    overlay('soon', () => [h('p', { class: 'kicker' }, 'Starting soon'), h('p', { class: 'big', id: 'soon-count', role: 'timer' }, ''),
      h('p', { class: 'note' }, `Goes live ${when(burst.scheduled_at)}. Stay here — the stream starts by itself.`),
      h('p', { class: 'actions' }, h('a', { class: 'button', href: B.links.calendar, download: '' }, 'Add to calendar'))]);
  } else if (player.state === 'playing') {
    overlay('', null);
  } else if (player.state === 'blocked') {
    overlay('blocked', () => [h('button', { class: 'button button-primary', type: 'button', onclick: () => { video.play(); shownKey = ''; } }, 'Tap to play')]);
  } else if (player.state === 'reconnecting') {
    overlay('reconnecting', () => [h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', {}, 'Reconnecting…')]);
  } else if (player.state === 'waiting') {
    overlay('waiting', () => [h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', {}, 'Waiting for the host’s video…')]);
  } else {
    overlay('connecting', () => [h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', {}, 'Connecting…')]);
  }
  tick();
}

let lastSpoken = 0;
function tick() {
  const s = burst.state;
  const soon = $('soon-count');
  if (soon) {
    const ms = clock.until(burst.scheduled_at);
    soon.textContent = ms > 0 ? countdown(ms) : 'Any moment';
    soon.setAttribute('aria-label', ms > 0 ? `Starts in ${countdownWords(ms)}` : 'Starting any moment');
  }
  const live = s === 'live' || s === 'ending';
  const left = live ? clock.until(burst.ends_at) : NaN;
  const clockEl = $('clock');
  clockEl.hidden = !Number.isFinite(left);
  if (!clockEl.hidden) {
    clockEl.textContent = `${countdown(left)} left`;
    clockEl.classList.toggle('warn', left <= 60000);
  }
  const ending = $('ending');
  const warn = s === 'ending' || (Number.isFinite(left) && left <= 60000);
  ending.hidden = !warn || !live;
  if (!ending.hidden) {
    const secs = Math.max(0, Math.ceil(left / 1000));
    // role=alert announces changes: say it once, then only the last 10 s.
    const text = Number.isFinite(left) ? `Ending in ${secs} s — grab it before it’s gone` : 'Ending soon — grab it before it’s gone';
    if (ending.textContent === '' || secs <= 10 || Date.now() - lastSpoken > 30000) { ending.textContent = text; lastSpoken = Date.now(); }
    else ending.firstChild && (ending.firstChild.nodeValue = text);
  }
}

everySecond(tick);
render();
if (burst.state === 'scheduled') startPolling();
document.addEventListener('keydown', (e) => {
  if (e.key === 'm' && !e.target.closest('input, textarea')) { video.muted = !video.muted; toast(video.muted ? 'Muted' : 'Sound on'); }
});
