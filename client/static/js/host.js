// The host console: go live from this device (getUserMedia + WHIP) or copy
// the OBS settings; the run-of-show with show now / hide; viewers,
// add-to-carts, sales and revenue (from the burst's KPIs, kept current by
// the channel's events); the burst countdown with its 60-second warning.
import { $, h, boot, Clock, countdown, everySecond, when, money, picture, offset, toast, copyText, errorText, link } from './util.js';
import { negotiate, hangup, preferCodecs, SessionError } from './whep.js';
import { Channel } from './channel.js';

const B = boot();
const clock = new Clock(B.server_time);
const burst = { ...B.burst };
const keyStore = `dropcast.key.${burst.id}`;
let key = sessionStorage.getItem(keyStore) || '';
let consoleData = null;
const shown = new Set();
let stats = { carts: 0, sales: 0, revenue: null };
const stock = new Map();

$('burst-title').textContent = burst.title;
$('burst-when').textContent = `${B.drop.title} · ${when(burst.scheduled_at)} · up to ${Math.round(burst.max_duration_s / 60)} min`;

$('key-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('stream-key').value.trim()); });
if (key) signIn(key);

async function signIn(k) {
  $('key-error').textContent = '';
  const res = await fetch(B.links.console, { headers: { Authorization: `Bearer ${k}` } });
  if (!res.ok) {
    $('key-error').textContent = res.status === 401 ? 'That key does not match this burst.' : await errorText(res);
    sessionStorage.removeItem(keyStore);
    return;
  }
  key = k;
  sessionStorage.setItem(keyStore, k);
  consoleData = await res.json();
  $('key-form').hidden = true;
  $('console').hidden = false;
  setupOBS();
  renderRunOfShow();
  connectChannel();
  loadTotals();
  setInterval(loadTotals, 30000);
}

// loadTotals sets the counters from the burst's KPIs (what the channel's
// events add to between two loads), so a reload or a second device shows
// the whole burst, not only what happened since the page opened.
async function loadTotals() {
  const res = await fetch(B.links.kpis, { headers: { Authorization: `Bearer ${key}` } }).catch(() => null);
  if (!res || !res.ok) return;
  const k = await res.json();
  stats = { carts: k.sales.units_added, sales: k.sales.units, revenue: k.sales.revenue };
  renderStats();
}

function renderStats() {
  $('stat-carts').textContent = stats.carts;
  $('stat-sales').textContent = stats.sales;
  $('stat-revenue').textContent = stats.revenue == null ? '–' : money(stats.revenue, consoleData.drop.currency);
}

function setupOBS() {
  $('obs-server').textContent = B.links.whip_public;
  $('watch-url').textContent = B.links.watch_public;
  const keyEl = $('obs-key');
  keyEl.dataset.value = key;
  $('reveal').addEventListener('click', (e) => {
    const on = e.currentTarget.getAttribute('aria-pressed') !== 'true';
    e.currentTarget.setAttribute('aria-pressed', String(on));
    e.currentTarget.textContent = on ? 'Hide' : 'Show';
    keyEl.textContent = on ? key : '••••••••';
  });
  if (B.links.rtsp) {
    $('rtsp-term').hidden = $('rtsp-def').hidden = false;
    $('rtsp-url').textContent = `${B.links.rtsp}/${'STREAM_KEY'}`;
    $('rtsp-url').dataset.value = `${B.links.rtsp}/${key}`;
  }
  for (const b of document.querySelectorAll('[data-copy]')) {
    b.addEventListener('click', async () => {
      const el = $(b.dataset.copy);
      const ok = await copyText(el.dataset.value || el.textContent);
      toast(ok ? 'Copied' : 'Copy failed; select it by hand', { error: !ok });
    });
  }
}

function renderRunOfShow() {
  const cur = consoleData.drop.currency;
  $('run-of-show').replaceChildren(...consoleData.cards.map((c) => {
    const on = shown.has(String(c.id));
    const prices = c.variants.map((v) => v.price);
    const left = c.variants.reduce((n, v) => n + (stock.get(String(v.id)) ?? v.available), 0);
    return h('li', { class: on ? 'on' : '', dataset: { card: c.id } },
      h('span', { class: 'at' }, offset(c.offset_s)),
      picture(c.product.images[0], '', '44px'),
      h('span', { class: 'what' }, h('strong', {}, c.product.title),
        h('span', {}, [c.deal_price != null ? `deal ${money(c.deal_price, cur)}` : money(Math.min(...prices), cur), `${left} left`, c.vip_only ? 'VIP' : null, `${Math.round(c.duration_s / 60 * 10) / 10} min`].filter(Boolean).join(' · '))),
      h('button', { class: `button ${on ? '' : 'button-primary'}`, type: 'button', 'aria-pressed': String(on),
        'aria-label': `${on ? 'Hide' : 'Show'} ${c.product.title} now`, onclick: () => pin(c, on ? 'hide' : 'show') }, on ? 'Hide' : 'Show now'));
  }));
}

async function pin(card, action) {
  const url = link(B.links.card_action, { card: card.id, action });
  try {
    const res = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${key}` } });
    if (res.status === 404 && !(await res.clone().text()).includes(String(card.id))) {
      toast('Pinning needs the live channel, which this server does not run yet.', { error: true });
      return;
    }
    if (!res.ok) { toast(await errorText(res), { error: true }); return; }
    action === 'show' ? shown.add(String(card.id)) : shown.delete(String(card.id));
    renderRunOfShow();
    feed(`${action === 'show' ? 'Showing' : 'Hid'} ${card.product.title}`);
  } catch { toast('Network error; try again.', { error: true }); }
}

function connectChannel() {
  const ch = new Channel(B.links.ws);
  // A host connection gets the sales feed and is not counted as a viewer; a
  // browser websocket cannot send headers, so the key rides as host_token.
  ch.url.searchParams.set('role', 'host');
  ch.url.searchParams.set('host_token', key);
  ch.addEventListener('message', (ev) => {
    const m = ev.detail;
    switch (m.type) {
      case 'welcome':
        clock.sync(m.serverTime);
        setBurst(m.state, m.endsAt);
        shown.clear();
        for (const c of m.cards) shown.add(c.id);
        $('stat-viewers').textContent = m.viewers ?? '–';
        renderRunOfShow();
        break;
      case 'card.show': shown.add(m.card.id); renderRunOfShow(); break;
      case 'card.hide': shown.delete(m.cardId); renderRunOfShow(); break;
      case 'viewers': $('stat-viewers').textContent = m.count ?? '–'; break;
      case 'burst': setBurst(m.state, m.endsAt); feed(`Burst is ${m.state}`); break;
      case 'stock': {
        const before = stock.get(m.variantId) ?? findVariant(m.variantId)?.available;
        if (before != null && m.available < before) { stats.carts += before - m.available; renderStats(); feed(`Added to cart: ${describe(m.variantId)} (${m.available} left)`); }
        stock.set(m.variantId, m.available);
        renderRunOfShow();
        break;
      }
      case 'sale':
        stats.sales += m.qty;
        if (m.amount != null && stats.revenue != null) stats.revenue += m.amount;
        renderStats();
        feed(`Sold ${m.qty} × ${m.title}${m.label ? ` (${m.label})` : ''}${m.amount != null ? ` · ${money(m.amount, m.currency || consoleData.drop.currency)}` : ''}`);
        break;
    }
  });
  ch.connect();
}

function findVariant(id) {
  for (const c of consoleData.cards) for (const v of c.variants) if (String(v.id) === String(id)) return { ...v, title: c.product.title };
  return null;
}
function describe(id) { const v = findVariant(id); return v ? `${v.title} ${v.label}` : `variant ${id}`; }

function feed(text) {
  const t = new Date(clock.now());
  $('feed').prepend(h('li', {}, h('time', {}, t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })), text));
  while ($('feed').children.length > 50) $('feed').lastChild.remove();
}

function setBurst(state, endsAt) {
  if (state) burst.state = state;
  if (endsAt) burst.ends_at = endsAt;
  tick();
}

function tick() {
  const el = $('host-clock');
  const warnEl = $('host-warning');
  const live = burst.state === 'live' || burst.state === 'ending';
  if (live && burst.ends_at) {
    const left = clock.until(burst.ends_at);
    el.textContent = `${countdown(left)} left`;
    el.classList.toggle('warn', left <= 60000);
    warnEl.hidden = !(left <= 60000 || burst.state === 'ending');
    warnEl.textContent = `One minute warning: the burst ends in ${Math.max(0, Math.ceil(left / 1000))} s. Wrap up!`;
  } else if (burst.state === 'ended') {
    el.textContent = 'Ended';
    warnEl.hidden = true;
  } else {
    const ms = clock.until(burst.scheduled_at);
    el.textContent = ms > 0 ? `Starts in ${countdown(ms)}` : 'Ready when you are';
    el.classList.remove('warn');
    warnEl.hidden = true;
  }
}
everySecond(tick);

// ---- Going live from the browser ----
let media = null;
let pc = null;
let session = null;

$('camera').addEventListener('click', async () => {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    $('publish-state').textContent = 'Going live from the browser needs HTTPS (or localhost). Use OBS, or open this page over HTTPS.';
    return;
  }
  try {
    media = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }, audio: true });
    $('preview').srcObject = media;
    $('golive').disabled = false;
    $('camera').textContent = 'Camera on';
    $('camera').disabled = true;
    $('publish-state').textContent = 'Camera ready. Go live when you are.';
  } catch (err) {
    $('publish-state').textContent = `Camera unavailable: ${err.message}. Use OBS instead.`;
  }
});

$('golive').addEventListener('click', async () => {
  if (!media) return;
  $('golive').disabled = true;
  $('publish-state').textContent = 'Connecting…';
  pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  for (const track of media.getTracks()) {
    const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
    if (track.kind === 'video') preferCodecs(tr, 'video', ['video/h264', 'video/vp8']);
    else preferCodecs(tr, 'audio', ['audio/opus']);
  }
  pc.onconnectionstatechange = () => {
    const s = pc?.connectionState;
    if (s === 'connected') { $('publish-state').textContent = 'You are live.'; $('onair').hidden = false; }
    if (s === 'failed' || s === 'disconnected') { $('publish-state').textContent = 'Connection lost. Press Go live to reconnect.'; $('onair').hidden = true; $('golive').disabled = false; }
  };
  try {
    session = await negotiate(B.links.whip, pc, { token: key });
    $('stop').hidden = false;
  } catch (err) {
    pc.close(); pc = null;
    $('golive').disabled = false;
    const status = err instanceof SessionError ? err.status : 0;
    $('publish-state').textContent = status === 404 ? 'This server has no WHIP ingest yet; stream from OBS once it does.'
      : status === 401 ? 'The stream key was refused.' : `Could not go live: ${err.message}`;
  }
});

$('stop').addEventListener('click', () => {
  hangup(session, key);
  session = null;
  pc?.close(); pc = null;
  $('onair').hidden = true;
  $('stop').hidden = true;
  $('golive').disabled = false;
  $('publish-state').textContent = 'Stream ended from this device.';
});
addEventListener('pagehide', () => hangup(session, key));
