// WHIP/WHEP signalling (RFC 9725 shape): POST an SDP offer, get 201 with the
// answer and a Location to DELETE when leaving. No trickle ICE: the offer
// carries the gathered candidates, which loopback and LAN need nothing more.

export class SessionError extends Error {
  constructor(status, message) { super(message || `HTTP ${status}`); this.status = status; }
}

/** Waits for ICE gathering to finish, at most maxMs. */
export function iceGathered(pc, maxMs = 1000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); pc.removeEventListener('icegatheringstatechange', check); resolve(); };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const t = setTimeout(done, maxMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * Negotiates pc with a WHIP or WHEP endpoint. Returns the session URL.
 * Throws SessionError with the HTTP status on refusal.
 */
export async function negotiate(url, pc, { token, signal } = {}) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp, signal });
  if (res.status !== 201 && res.status !== 200) {
    let msg = '';
    try { const t = await res.text(); try { msg = JSON.parse(t)?.error?.message || t; } catch { msg = t; } } catch { /* body gone */ }
    throw new SessionError(res.status, msg.slice(0, 300));
  }
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
