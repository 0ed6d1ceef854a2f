// The console's requests: its own endpoints (/kgate/console/api/) and the
// Kubernetes API through the gateway (/kgate/console/k8s/). The token is in
// an HttpOnly cookie the page never sees; the CSRF value is kept in memory.

import { LineSplitter } from './lib/format.js';

const API = '/kgate/console/api/';
export const K8S = '/kgate/console/k8s';

let csrf = '';

/** An error with the gateway's message and HTTP status. */
export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function failure(res) {
  let msg = `${res.status} ${res.statusText}`;
  try {
    const st = await res.json();
    if (st && st.message) msg = st.message;
  } catch {
    /* not a Status */
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    if (msg.startsWith(`${res.status}`)) msg = 'the gateway is unavailable; try again later';
  }
  return new ApiError(res.status, msg, Number(res.headers.get('Retry-After')) || 0);
}

async function json(path, opts = {}) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', ...opts });
  } catch (e) {
    throw new ApiError(0, 'the gateway cannot be reached: ' + e.message);
  }
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null;
  return res.json();
}

function post(path, body) {
  return json(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Kgate-Csrf': csrf },
    body: JSON.stringify(body || {}),
  });
}

export async function login(username, password) {
  const s = await post(API + 'login', { username, password });
  csrf = s.csrf;
  return s;
}

export async function session() {
  const s = await json(API + 'session');
  csrf = s.csrf;
  return s;
}

export async function logout() {
  await post(API + 'logout');
  csrf = '';
}

export function access(namespace, pod) {
  const q = new URLSearchParams({ namespace });
  if (pod) q.set('pod', pod);
  return json(API + 'access?' + q);
}

/** GET a Kubernetes API path through the gateway. */
export function get(path) {
  return json(K8S + path, { headers: { Accept: 'application/json' } });
}

/**
 * Reads a streamed response line by line (a watch, a followed log) until
 * it ends or signal aborts. onLine gets each whole line.
 */
export async function stream(path, onLine, signal) {
  let res;
  try {
    res = await fetch(K8S + path, { credentials: 'same-origin', signal });
  } catch (e) {
    if (signal && signal.aborted) return;
    throw new ApiError(0, 'the gateway cannot be reached: ' + e.message);
  }
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  const split = new LineSplitter();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const l of split.push(dec.decode(value, { stream: true }))) onLine(l);
    }
  } catch (e) {
    if (signal && signal.aborted) return;
    throw e;
  }
  for (const l of split.flush()) onLine(l);
}

/** GET a text body (a log download). */
export async function text(path) {
  const res = await fetch(K8S + path, { credentials: 'same-origin' });
  if (!res.ok) throw await failure(res);
  return res.text();
}

/** The WebSocket URL of an exec. */
export function execURL(namespace, pod, query) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${K8S}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec?${query}`;
}
