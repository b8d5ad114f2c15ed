// Small helpers shared by every page: boot data, DOM building, money and
// time formatting, a server-synchronised clock and toasts.

/** The page's boot data, rendered by the server into #boot. */
export function boot() {
  const el = document.getElementById('boot');
  return el ? JSON.parse(el.textContent) : {};
}

/** h('button', {class: 'x', onclick}, 'text', child) builds an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

/** Fills a {name} template such as "/watch/{burst}". */
export function link(template, vars) {
  return template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(vars[k] ?? ''));
}

const moneyFormats = new Map();
/** money(8900, 'USD') → "$89.00": amounts are integers in minor units. */
export function money(minor, currency = 'USD') {
  if (minor == null || Number.isNaN(Number(minor))) return '';
  let f = moneyFormats.get(currency);
  if (!f) {
    try { f = new Intl.NumberFormat(undefined, { style: 'currency', currency }); } catch { f = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' }); }
    moneyFormats.set(currency, f);
  }
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(Number(minor) / 10 ** digits);
}

/** A clock corrected by the server's time, so countdowns agree across devices. */
export class Clock {
  constructor(serverTime) { this.offset = 0; this.sync(serverTime); }
  sync(serverTime) {
    const t = toDate(serverTime);
    if (t) this.offset = t.getTime() - Date.now();
  }
  now() { return Date.now() + this.offset; }
  until(date) { const d = toDate(date); return d ? d.getTime() - this.now() : NaN; }
}

export function toDate(v) {
  if (v == null || v === '') return null;
  const d = v instanceof Date ? v : new Date(typeof v === 'number' && v < 1e12 ? v * 1000 : v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** 3723000 → "1:02:03", 65000 → "1:05"; days spelled out past 24 h. */
export function countdown(ms) {
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.ceil(ms / 1000));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${hh}h ${p(mm)}m`;
  return hh > 0 ? `${hh}:${p(mm)}:${p(ss)}` : `${mm}:${p(ss)}`;
}

/** Spoken form for screen readers: "1 hour 2 minutes". */
export function countdownWords(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const parts = [[Math.floor(s / 86400), 'day'], [Math.floor((s % 86400) / 3600), 'hour'], [Math.floor((s % 3600) / 60), 'minute']];
  const words = parts.filter(([n]) => n > 0).map(([n, u]) => `${n} ${u}${n === 1 ? '' : 's'}`);
  if (s < 3600) words.push(`${s % 60} second${s % 60 === 1 ? '' : 's'}`);
  return words.join(' ');
}

const whenFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
export function when(date) { const d = toDate(date); return d ? whenFormat.format(d) : ''; }

/** mm:ss of a media offset in seconds. */
export function offset(sec) {
  const s = Math.max(0, Math.floor(sec));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * srcset for an image URL. Uploaded images are stored as
 * /images/HASH-640.jpg with 320/640/1280 siblings; other URLs have none.
 */
export function srcset(url) {
  const m = /^(.*\/images\/[0-9a-f]+-)(\d+)(\.jpg)$/.exec(url || '');
  if (!m) return null;
  return [320, 640, 1280].map((w) => `${m[1]}${w}${m[3]} ${w}w`).join(', ');
}

/** An <img> with a responsive srcset, or a neutral placeholder. */
export function picture(url, alt, sizes) {
  if (!url) return h('div', { class: 'ph', role: 'img', 'aria-label': alt || 'No image' });
  return h('img', { src: url, srcset: srcset(url), sizes, alt: alt || '', loading: 'lazy', decoding: 'async' });
}

let toastTimer;
export function toast(message, { error = false } = {}) {
  const el = $('toast');
  if (!el) return;
  el.textContent = message;
  el.classList.toggle('error', error);
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 3200);
}

/** Calls fn every second (aligned to the second), returns a stop function. */
export function everySecond(fn) {
  fn();
  let t;
  const tick = () => { fn(); t = setTimeout(tick, 1000 - (Date.now() % 1000) + 5); };
  t = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  return () => clearTimeout(t);
}

/** Copies text to the clipboard, with a fallback for insecure origins. */
export async function copyText(text) {
  try { await navigator.clipboard.writeText(text); return true; } catch {
    const ta = h('textarea', { class: 'sr-only' }, text);
    document.body.append(ta); ta.select();
    const ok = document.execCommand('copy'); ta.remove(); return ok;
  }
}

/** Reads a JSON error body {"error":{"message"}} into a sentence. */
export async function errorText(res) {
  try { const j = await res.json(); return j?.error?.message || j?.message || res.statusText; } catch { return res.statusText || `HTTP ${res.status}`; }
}

export const metrics = (globalThis.dropcastMetrics ??= { marks: {} });
/** Records a named moment (ms since navigation start) for tests and benchmarks. */
export function mark(name) {
  if (metrics.marks[name] == null) metrics.marks[name] = performance.now();
}
