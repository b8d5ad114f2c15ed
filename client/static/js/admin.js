// A small admin page: sign in with the admin token, list drops with their
// bursts (host and watch links, stream-key rotation) and products (image
// upload). Everything goes through the admin API.
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

async function renderDrop(d) {
  const full = await (await api(`/api/drops/${d.id}`)).json();
  const sec = h('section', { class: 'panel admin-drop' },
    h('h2', {}, full.title, ' ', h('a', { href: `/d/${full.slug}` }, `/d/${full.slug}`)),
    h('p', { class: 'muted' }, `${when(full.starts_at)} – ${when(full.ends_at)} · ${full.currency}`),
    h('h3', { class: 'subhead' }, 'Bursts'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Burst'), h('th', {}, 'When'), h('th', {}, 'State'), h('th', {}, 'Links'))),
      h('tbody', {}, full.bursts.map((b) => h('tr', {},
        h('td', {}, b.title), h('td', {}, when(b.scheduled_at)), h('td', {}, b.state),
        h('td', {}, h('a', { href: `/host/${b.id}` }, 'host'), ' · ', h('a', { href: `/watch/${b.id}` }, 'watch'), ' · ', h('a', { href: `/replay/${b.id}` }, 'replay'), ' · ',
          h('button', { class: 'linkish', type: 'button', onclick: (e) => rotate(b, e.currentTarget) }, 'new stream key')))))),
    h('h3', { class: 'subhead' }, 'Products'),
    h('table', {}, h('tbody', {}, full.products.map((p) => h('tr', {},
      h('td', {}, h('div', { class: 'thumbs' }, p.images.slice(0, 4).map((u) => picture(u, '', '36px')))),
      h('td', {}, p.title, h('br'), h('span', { class: 'muted' }, p.variants.map((v) => `${v.label} ${money(v.price, full.currency)} (${v.available})`).join(' · '))),
      h('td', {}, h('label', { class: 'sr-only', for: `img-${p.id}` }, `Upload an image for ${p.title}`),
        h('input', { id: `img-${p.id}`, type: 'file', accept: 'image/jpeg,image/png', onchange: (e) => upload(p, e.currentTarget) })))))));
  return sec;
}

async function rotate(b, btn) {
  if (!confirm(`Make a new stream key for “${b.title}”? The old key stops working.`)) return;
  const res = await api(`/api/bursts/${b.id}/stream-key`, { method: 'POST' });
  if (!res.ok) { toast(await errorText(res), { error: true }); return; }
  const j = await res.json();
  btn.replaceWith(h('span', { class: 'once' }, `Shown once: ${j.stream_key}`));
}

async function upload(p, input) {
  const file = input.files[0];
  if (!file) return;
  const res = await api(`/api/products/${p.id}/images`, { method: 'POST', headers: { 'Content-Type': file.type || 'application/octet-stream' }, body: file });
  if (!res.ok) { toast(await errorText(res), { error: true }); return; }
  toast('Image added');
  signIn(token);
}
