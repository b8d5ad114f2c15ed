// The drop page: the schedule with countdowns and calendar links, the live
// burst embedded when one is on, and the products. It reads the public
// schedule (GET /api/drops/{slug}) and refreshes it every 20 s.
import { $, h, boot, Clock, countdown, countdownWords, everySecond, when, link, money, picture, mark } from './util.js';
import { LivePlayer } from './player.js';

mark('moduleStart');
const B = boot();
const clock = new Clock(B.server_time);
let data = null;
let player = null;
let liveId = null;

$('drop-calendar').href = B.links.calendar;

async function load() {
  try {
    const res = await fetch(B.links.api, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    data = await res.json();
    clock.sync(data.server_time);
    render();
  } catch {
    if (!data) $('schedule').replaceChildren(h('li', { class: 'slot' }, 'The schedule could not be loaded. Retrying…'));
  }
}

function burstState(b) {
  if (b.state === 'live' || b.state === 'ending') return 'live';
  if (b.state === 'ended') return 'ended';
  return 'scheduled';
}

function render() {
  const d = data.drop;
  $('drop-title').textContent = d.title;
  $('drop-description').textContent = d.description;
  $('drop-window').textContent = `${when(d.starts_at)} – ${when(d.ends_at)}`;
  renderSchedule();
  renderProducts();
  renderLive();
  tick();
}

function renderSchedule() {
  const list = $('schedule');
  list.setAttribute('aria-busy', 'false');
  const bursts = [...data.bursts].sort((a, b) => new Date(a.scheduled_at) - new Date(b.scheduled_at));
  list.replaceChildren(...bursts.map((b) => {
    const st = burstState(b);
    const vars = { burst: b.id };
    const badge = st === 'live' ? h('span', { class: 'badge badge-live' }, 'Live')
      : st === 'ended' ? h('span', { class: 'badge badge-ended' }, 'Ended') : h('span', { class: 'badge badge-soon' }, 'Upcoming');
    const actions = [];
    if (st === 'live') actions.push(h('a', { class: 'button button-primary', href: link(B.links.watch, vars) }, 'Watch live'));
    if (st === 'scheduled') {
      actions.push(h('a', { class: 'button', href: link(B.links.burst_calendar, vars), download: '', 'aria-label': `Add ${b.title} to calendar` }, 'Remind me'));
      actions.push(h('a', { class: 'button', href: link(B.links.watch, vars) }, 'Open'));
    }
    if (st === 'ended') actions.push(h('a', { class: 'button', href: link(B.links.replay, vars) }, 'Watch replay'));
    return h('li', { class: `slot${st === 'live' ? ' is-live' : ''}`, dataset: { burst: b.id, state: st } },
      h('div', {},
        h('div', { class: 'slot-head' }, badge, b.vip_only ? h('span', { class: 'badge badge-vip' }, 'VIP') : null, h('h3', {}, b.title)),
        h('p', { class: 'slot-when' }, when(b.scheduled_at), ` · ${Math.round(b.max_duration_s / 60)} min`),
        h('p', { class: 'slot-count', role: 'timer', dataset: { at: b.scheduled_at, state: st } })),
      h('div', { class: 'slot-actions' }, actions));
  }));
}

function renderProducts() {
  const cur = data.drop.currency;
  $('products').replaceChildren(...data.products.map((p) => {
    const prices = p.variants.map((v) => v.price);
    const left = p.variants.reduce((n, v) => n + v.available, 0);
    const sizes = p.variants.filter((v) => v.available > 0).map((v) => v.label);
    return h('li', { class: 'product' },
      picture(p.images[0], p.title, '(min-width: 700px) 240px, 50vw'),
      h('div', { class: 'product-body' },
        h('h3', {}, p.title),
        h('span', { class: 'from' }, prices.length > 1 && Math.min(...prices) !== Math.max(...prices) ? `from ${money(Math.min(...prices), cur)}` : money(prices[0], cur)),
        h('span', { class: 'avail' }, left === 0 ? 'Sold out' : sizes.length > 1 ? `${sizes.join(' · ')}` : left <= 10 ? `Only ${left} left` : 'In stock')));
  }));
}

function renderLive() {
  const live = data.bursts.find((b) => burstState(b) === 'live' && !b.vip_only);
  $('live-section').hidden = !live;
  if (!live) { player?.stop(); liveId = null; return; }
  if (liveId === live.id) return;
  liveId = live.id;
  $('live-name').textContent = live.title;
  $('live-link').href = link(B.links.watch, { burst: live.id });
  player?.stop();
  player = new LivePlayer($('live-video'), {
    url: link(B.links.whep, { burst: live.id }),
    onState: (s) => {
      const el = $('live-state');
      el.replaceChildren(...(s === 'playing' ? [] : [h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', {}, s === 'waiting' ? 'Waiting for video…' : 'Connecting…')]));
    },
  });
  player.start();
}

function tick() {
  for (const el of document.querySelectorAll('.slot-count')) {
    const st = el.dataset.state;
    const ms = clock.until(el.dataset.at);
    if (st === 'live') { el.textContent = 'On now'; continue; }
    if (st === 'ended') { el.textContent = ''; continue; }
    el.textContent = ms > 0 ? `Starts in ${countdown(ms)}` : 'Starting any moment';
    el.setAttribute('aria-label', ms > 0 ? `Starts in ${countdownWords(ms)}` : 'Starting any moment');
  }
}

$('schedule').replaceChildren(...[0, 1, 2].map(() => h('li', { class: 'skeleton', 'aria-hidden': 'true' })));
load();
setInterval(load, 20000);
everySecond(tick);
