// The Kubernetes exec channel protocol over a WebSocket (v5.channel.k8s.io,
// v4.channel.k8s.io): each binary message is one channel byte and its data.
// 0 stdin, 1 stdout, 2 stderr, 3 the end (a Status), 4 resize, 255 close.

export const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

const enc = new TextEncoder();

/** A message for channel ch with data (a string or bytes). */
export function frame(ch, data) {
  const body = typeof data === 'string' ? enc.encode(data) : data;
  const out = new Uint8Array(body.length + 1);
  out[0] = ch;
  out.set(body, 1);
  return out;
}

/** The resize message: the terminal's size in columns and rows. */
export function resizeFrame(cols, rows) {
  return frame(RESIZE, JSON.stringify({ Width: cols, Height: rows }));
}

/** Splits a received message into its channel and data. */
export function parse(buf) {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (b.length === 0) return { channel: -1, data: b };
  return { channel: b[0], data: b.subarray(1) };
}

/**
 * What a Status on channel 3 says: {code, message}. Success is 0;
 * NonZeroExitCode names the code in a cause; anything else is an error
 * with no code (code null).
 */
export function exitStatus(text) {
  let st;
  try {
    st = JSON.parse(text);
  } catch {
    return { code: null, message: String(text).trim() };
  }
  if (st.status === 'Success') return { code: 0, message: '' };
  const causes = (st.details && st.details.causes) || [];
  for (const c of causes) {
    if (c.reason === 'ExitCode') {
      const n = Number.parseInt(c.message, 10);
      if (Number.isFinite(n)) return { code: n, message: st.message || '' };
    }
  }
  return { code: null, message: st.message || 'the command failed' };
}

/** The exec URL's query: command words, container, streams, tty. */
export function execQuery({ container, command, tty = true, stdin = true }) {
  const q = new URLSearchParams();
  if (container) q.set('container', container);
  for (const w of command) q.append('command', w);
  if (stdin) q.set('stdin', 'true');
  q.set('stdout', 'true');
  if (tty) q.set('tty', 'true');
  else q.set('stderr', 'true');
  return q.toString();
}
