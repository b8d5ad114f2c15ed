// The shopper channel: one websocket to /ws/{burst}, reconnecting with
// backoff, with request/answer matching by "req". It emits normalized
// messages (see messages.js) as "message" events.
import { normalize } from './messages.js';

export class Channel extends EventTarget {
  /** @param {string} path e.g. "/ws/12" (same origin; the shopper cookie rides along) */
  constructor(path) {
    super();
    this.url = new URL(path, location.href);
    this.url.protocol = this.url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.pending = new Map();
    this.seq = 0;
    this.backoff = 500;
    this.closed = false;
    this.everOpened = false;
    this.failures = 0;
  }

  connect() {
    if (this.closed) return;
    let ws;
    try { ws = new WebSocket(this.url); } catch { this.retry(); return; }
    this.ws = ws;
    ws.onopen = () => {
      this.everOpened = true;
      this.failures = 0;
      this.backoff = 500;
      this.emit({ type: 'open' });
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.send({ type: 'ping' }), 25000);
    };
    ws.onmessage = (ev) => {
      let raw;
      try { raw = JSON.parse(ev.data); } catch { return; }
      const msg = normalize(raw);
      if (!msg) return;
      if (msg.req && this.pending.has(msg.req) && (msg.type === 'ack' || msg.type === 'error')) {
        const p = this.pending.get(msg.req);
        this.pending.delete(msg.req);
        clearTimeout(p.timer);
        msg.type === 'error' ? p.reject(Object.assign(new Error(msg.message), { code: msg.code })) : p.resolve(msg);
      }
      this.emit(msg);
    };
    ws.onclose = () => {
      clearInterval(this.pinger);
      for (const [req, p] of this.pending) { clearTimeout(p.timer); p.reject(Object.assign(new Error('Connection lost'), { code: 'disconnected' })); this.pending.delete(req); }
      this.failures++;
      this.emit({ type: 'close', everOpened: this.everOpened, failures: this.failures });
      this.retry();
    };
  }

  retry() {
    if (this.closed) return;
    const wait = this.backoff * (0.8 + Math.random() * 0.4);
    this.backoff = Math.min(this.backoff * 2, 15000);
    setTimeout(() => this.connect(), wait);
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  send(obj) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** Sends {type, req, ...body} and resolves with the ack, or rejects with {code}. */
  request(type, body = {}, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const req = `r${Date.now().toString(36)}${(++this.seq).toString(36)}`;
      if (!this.send({ type, req, ...body })) {
        reject(Object.assign(new Error('Not connected to the live shop yet'), { code: 'disconnected' }));
        return;
      }
      const timer = setTimeout(() => { this.pending.delete(req); reject(Object.assign(new Error('No answer from the shop'), { code: 'timeout' })); }, timeoutMs);
      this.pending.set(req, { resolve, reject, timer });
    });
  }

  emit(msg) { this.dispatchEvent(new CustomEvent('message', { detail: msg })); }

  close() { this.closed = true; clearInterval(this.pinger); this.ws?.close(); }
}
