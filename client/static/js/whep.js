// WHIP/WHEP signalling (RFC 9725 shape): POST an SDP offer, get 201 with the
// answer and a Location to DELETE when leaving. No trickle ICE: the offer
// carries the gathered candidates, which loopback and LAN need nothing more.

export class SessionError extends Error {
  constructor(status, message) { super(message || `HTTP ${status}`); this.status = status; }
}

/**
 * Waits until the offer holds usable candidates: gathering complete, or a
 * short grace after the first candidate (host candidates come first and are
 * what loopback and LAN need; the server learns the rest as peer-reflexive),
 * at most maxMs.
 */
export function iceGathered(pc, maxMs = 1000, graceMs = 40) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    let grace;
    const done = () => {
      clearTimeout(t); clearTimeout(grace);
      pc.removeEventListener('icegatheringstatechange', check);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const onCandidate = (ev) => { if (ev.candidate && !grace) grace = setTimeout(done, graceMs); };
    const t = setTimeout(done, maxMs);
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

/**
 * Negotiates pc with a WHIP or WHEP endpoint. Returns the session URL.
 * Throws SessionError with the HTTP status on refusal.
 */
export async function negotiate(url, pc, { token, signal, onStep } = {}) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  onStep?.('offer');
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp, signal });
  if (res.status !== 201 && res.status !== 200) {
    let msg = '';
    try { const t = await res.text(); try { msg = JSON.parse(t)?.error?.message || t; } catch { msg = t; } } catch { /* body gone */ }
    throw new SessionError(res.status, msg.slice(0, 300));
  }
  onStep?.('answer');
  const answer = await res.text();
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  const loc = res.headers.get('Location');
  return loc ? new URL(loc, new URL(url, location.href)).href : null;
}

/** Ends a session; keepalive lets it run while the page unloads. */
export function hangup(sessionURL, token) {
  if (!sessionURL) return;
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  fetch(sessionURL, { method: 'DELETE', headers, keepalive: true }).catch(() => {});
}

/** Puts the preferred codecs first on a transceiver (H264 or VP8 for WHIP). */
export function preferCodecs(transceiver, kind, mimeTypes) {
  const caps = RTCRtpSender.getCapabilities?.(kind) || RTCRtpReceiver.getCapabilities?.(kind);
  if (!caps || !transceiver.setCodecPreferences) return;
  const rank = (c) => { const i = mimeTypes.indexOf(c.mimeType.toLowerCase()); return i < 0 ? mimeTypes.length : i; };
  const codecs = [...caps.codecs].sort((a, b) => rank(a) - rank(b));
  try { transceiver.setCodecPreferences(codecs); } catch { /* keep the browser's order */ }
}
