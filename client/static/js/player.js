// LivePlayer plays a burst over WHEP in a <video>: autoplay muted, a
// tap-to-unmute button, automatic reconnect with backoff, and first-frame
// timing for the benchmark. It reports its state through onState.
import { negotiate, hangup, SessionError } from './whep.js';
import { mark } from './util.js';

export class LivePlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {{url: string, token?: string, unmute?: HTMLElement, onState?: (s: string, detail?: any) => void}} opts
   */
  constructor(video, opts) {
    this.video = video;
    this.opts = opts;
    this.state = 'idle';
    this.backoff = 1000;
    this.running = false;
    video.muted = true;
    video.playsInline = true;
    if (opts.unmute) {
      opts.unmute.addEventListener('click', () => this.unmute());
      video.addEventListener('volumechange', () => { opts.unmute.hidden = !video.muted || this.state !== 'playing'; });
    }
    addEventListener('pagehide', () => this.stop());
  }

  setState(s, detail) {
    this.state = s;
    if (this.opts.unmute) this.opts.unmute.hidden = !(s === 'playing' && this.video.muted);
    this.opts.onState?.(s, detail);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop() {
    if (!this.running && this.state === 'idle') return;
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.stallTimer);
    this.teardown();
    this.setState('idle');
  }

  teardown() {
    hangup(this.session, this.opts.token);
    this.session = null;
    this.pc?.close();
    this.pc = null;
  }

  async connect() {
    if (!this.running) return;
    this.teardown();
    this.setState('connecting');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (ev) => {
      mark('track');
      stream.addTrack(ev.track);
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
      this.play();
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === 'connected') mark('connected');
      if (pc.connectionState === 'failed') this.retry('failed');
      if (pc.connectionState === 'disconnected') {
        clearTimeout(this.stallTimer);
        this.stallTimer = setTimeout(() => { if (pc === this.pc && pc.connectionState !== 'connected') this.retry('disconnected'); }, 3000);
      }
    };
    try {
      this.session = await negotiate(this.opts.url, pc, { token: this.opts.token, onStep: (s) => mark(`whep.${s}`) });
      this.backoff = 1000;
      this.watchFirstFrame();
    } catch (err) {
      if (pc !== this.pc) return;
      const status = err instanceof SessionError ? err.status : 0;
      if (status === 401 || status === 403) { this.running = false; this.teardown(); this.setState('forbidden', err.message); return; }
      // 404/409: no stream yet (or the media server is not here); keep trying quietly.
      this.retry(status === 404 || status === 409 || status === 503 ? 'waiting' : 'error', err.message);
    }
  }

  retry(reason, detail) {
    if (!this.running) return;
    this.teardown();
    this.setState(reason === 'waiting' ? 'waiting' : 'reconnecting', detail);
    clearTimeout(this.retryTimer);
    const wait = this.backoff * (0.8 + Math.random() * 0.4);
    this.backoff = Math.min(this.backoff * 2, 10000);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  /** Calls the player "playing" once a frame is actually painted. */
  watchFirstFrame() {
    const v = this.video;
    const painted = () => { mark('firstFrame'); if (this.state !== 'playing') this.setState('playing'); };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(painted);
    else v.addEventListener('playing', painted, { once: true });
  }

  async play() {
    try { await this.video.play(); } catch {
      // Autoplay refused even muted (battery saver, policy): ask for a tap.
      this.setState('blocked');
    }
  }

  unmute() {
    this.video.muted = false;
    this.video.play().catch(() => {});
    if (this.opts.unmute) this.opts.unmute.hidden = true;
  }
}
