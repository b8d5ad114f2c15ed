// A small admin page: sign in with the admin token, list drops with their
// results (audience, sales, sell-through from the KPI API), bursts (host and
// watch links, stream-key rotation) and products (image upload). Everything
// goes through the admin API.
import { $, h, when, money, toast, errorText, picture } from './util.js';

let token = sessionStorage.getItem('dropcast.admin') || '';
$('token-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('admin-token').value.trim()); });
if (token) signIn(token);

const api = (path, opts = {}) => fetch(path, { ...opts, headers: { Authorization: `Bearer ${token}`, ...(opts.headers || {}) } });

async function signIn(t) {
  token = t;
  const res = await api('/api/drops');
  if (!res.ok) { $('token-error').textContent = res.status === 401 ? 'Wrong admin token.' : await errorText(res); sessionStorage.removeItem('dropcast.admin'); return; }
  sessionStorage.setItem('dropcast.admin', t);
  $('token-form').hidden = true;
  $('admin-body').hidden = false;
  const { drops } = await res.json();
  $('admin-body').replaceChildren(...await Promise.all(drops.map(renderDrop)));
  if (!drops.length) $('admin-body').append(h('p', { class: 'muted' }, 'No drops yet. Create one with POST /api/drops, or run `dropcast demo`.'));
}

const pct = (x) => `${(100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

/** The drop's KPIs, or null when they cannot be had (the page works without). */
async function dropKPIs(id) {
  const res = await api(`/api/drops/${id}/kpis`).catch(() => null);
  return res && res.ok ? res.json() : null;
}

async function renderDrop(d) {
  const [full, kpis] = await Promise.all([api(`/api/drops/${d.id}`).then((r) => r.json()), dropKPIs(d.id)]);
  const burstKPI = new Map((kpis?.bursts || []).map((k) => [k.burst_id, k]));
  const sold = new Map();
  for (const v of kpis?.variants || []) sold.set(v.product_id, (sold.get(v.product_id) || 0) + v.sold);
  const audience = (k) => (k ? `${k.audience.live_shoppers} live (peak ${k.audience.peak_viewers}) · ${k.audience.replay_shoppers} replay` : '');
  const sales = (k) => (k ? `${money(k.sales.revenue, full.currency)} · ${k.sales.orders} orders · ${pct(k.conversion)} conv.` : '');
  const sec = h('section', { class: 'panel admin-drop' },
    h('h2', {}, full.title, ' ', h('a', { href: `/d/${full.slug}` }, `/d/${full.slug}`)),
    h('p', { class: 'muted' }, `${when(full.starts_at)} – ${when(full.ends_at)} · ${full.currency}`),
    kpis ? h('p', { class: 'kpi-summary' }, `${kpis.shoppers} shoppers · ${kpis.sales.orders} orders · ${kpis.sales.units} units · `,
      h('strong', {}, money(kpis.sales.revenue, full.currency)), kpis.sales.in_carts ? ` · ${kpis.sales.in_carts} in carts now` : '') : null,
    h('p', {}, h('button', { class: 'button export', type: 'button', onclick: () => exportPaid(full) }, 'Paid orders (CSV)'),
      ' ', h('span', { class: 'muted' }, full.shipping_countries?.length ? `Ships to ${full.shipping_countries.join(', ')}` : 'Ships nowhere: no address is asked for')),
    h('h3', { class: 'subhead' }, 'Bursts'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Burst'), h('th', {}, 'When'), h('th', {}, 'State'), h('th', {}, 'Audience'), h('th', {}, 'Sales'), h('th', {}, 'Links'))),
      h('tbody', {}, full.bursts.map((b) => h('tr', {},
        h('td', {}, b.title), h('td', {}, when(b.scheduled_at)), h('td', {}, b.state),
        h('td', { class: 'kpi-audience' }, audience(burstKPI.get(b.id))), h('td', { class: 'kpi-sales' }, sales(burstKPI.get(b.id))),
        h('td', {}, h('a', { href: `/host/${b.id}` }, 'host'), ' · ', h('a', { href: `/watch/${b.id}` }, 'watch'), ' · ', h('a', { href: `/replay/${b.id}` }, 'replay'), ' · ',
          h('button', { class: 'linkish', type: 'button', onclick: (e) => rotate(b, e.currentTarget) }, 'new stream key')))))),
    h('h3', { class: 'subhead' }, 'Products'),
    h('table', {}, h('tbody', {}, full.products.map((p) => h('tr', {},
      h('td', {}, h('div', { class: 'thumbs', id: `thumbs-${p.id}` }, thumbs(p.images))),
      h('td', {}, p.title, h('br'), h('span', { class: 'muted' }, p.variants.map((v) => `${v.label} ${money(v.price, full.currency)} (${v.available})`).join(' · '))),
      h('td', { class: 'kpi-sold' }, kpis ? `${sold.get(p.id) || 0} sold` : ''),
      h('td', {}, h('label', { class: 'sr-only', for: `img-${p.id}` }, `Upload an image for ${p.title}`),
        h('input', { id: `img-${p.id}`, type: 'file', accept: 'image/jpeg,image/png', onchange: (e) => upload(p, e.currentTarget) })))))));
  return sec;
}

// exportPaid downloads the drop's paid orders as CSV: fetched with the
// token (a plain link could not send it), then saved from a blob.
async function exportPaid(d) {
  const res = await api(`/api/orders.csv?drop=${d.id}&status=paid`).catch(() => null);
  if (!res || !res.ok) { toast(res ? await errorText(res) : 'Network error; try again.', { error: true }); return; }
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `${d.slug}-paid-orders.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function rotate(b, btn) {
  if (!confirm(`Make a new stream key for “${b.title}”? The old key stops working.`)) return;
  const res = await api(`/api/bursts/${b.id}/stream-key`, { method: 'POST' });
  if (!res.ok) { toast(await errorText(res), { error: true }); return; }
  const j = await res.json();
  btn.replaceWith(h('span', { class: 'once' }, `Shown once: ${j.stream_key}`));
}

const thumbs = (images) => images.slice(0, 4).map((u) => picture(u, '', '36px'));

// upload adds an image and refreshes that product's thumbnails only: the
// rest of the page (and a click on it) is left alone.
async function upload(p, input) {
  const file = input.files[0];
  if (!file) return;
  const res = await api(`/api/products/${p.id}/images`, { method: 'POST', headers: { 'Content-Type': file.type || 'application/octet-stream' }, body: file });
  if (!res.ok) { toast(await errorText(res), { error: true }); return; }
  toast('Image added');
  input.value = '';
  const fresh = await api(`/api/products/${p.id}`).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (fresh) $(`thumbs-${p.id}`).replaceChildren(...thumbs(fresh.images));
}
