// Pure helpers for the pod table, shaped like kubectl's columns. No DOM here:
// node's test runner checks them (web/test/).

/** Age as kubectl prints it: 45s, 3m20s, 5h, 2d3h, 40d. */
export function age(from, now = Date.now()) {
  const t = typeof from === 'string' ? Date.parse(from) : from;
  if (!Number.isFinite(t)) return '<unknown>';
  let s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  let m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${h < 8 && m % 60 ? `${m % 60}m` : ''}`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365 ? `${d % 365}d` : ''}`;
}

/** The STATUS column of kubectl get pods. */
export function podStatus(pod) {
  const st = pod.status || {};
  let reason = st.reason || st.phase || 'Unknown';
  const inits = st.initContainerStatuses || [];
  let initializing = false;
  inits.forEach((c, i) => {
    const s = c.state || {};
    if (s.terminated && s.terminated.exitCode === 0) return;
    if (initializing) return;
    initializing = true;
    if (s.terminated) reason = s.terminated.reason ? `Init:${s.terminated.reason}` : `Init:ExitCode:${s.terminated.exitCode}`;
    else if (s.waiting && s.waiting.reason && s.waiting.reason !== 'PodInitializing') reason = `Init:${s.waiting.reason}`;
    else reason = `Init:${i}/${inits.length}`;
  });
  if (!initializing) {
    let running = false;
    for (const c of [...(st.containerStatuses || [])].reverse()) {
      const s = c.state || {};
      if (s.waiting && s.waiting.reason) reason = s.waiting.reason;
      else if (s.terminated && s.terminated.reason) reason = s.terminated.reason;
      else if (s.terminated) reason = s.terminated.signal ? `Signal:${s.terminated.signal}` : `ExitCode:${s.terminated.exitCode}`;
      else if (s.running && c.ready) running = true;
    }
    if (reason === 'Completed' && running) reason = 'Running';
  }
  if (pod.metadata && pod.metadata.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

/** READY as "1/2". */
export function ready(pod) {
  const cs = (pod.status && pod.status.containerStatuses) || [];
  const total = ((pod.spec && pod.spec.containers) || []).length || cs.length;
  return `${cs.filter((c) => c.ready).length}/${total}`;
}

/** RESTARTS: the sum over containers, with the age of the last one. */
export function restarts(pod, now = Date.now()) {
  let n = 0;
  let last = 0;
  for (const c of (pod.status && pod.status.containerStatuses) || []) {
    n += c.restartCount || 0;
    const t = c.lastState && c.lastState.terminated && Date.parse(c.lastState.terminated.finishedAt);
    if (t && t > last) last = t;
  }
  return n > 0 && last ? `${n} (${age(last, now)} ago)` : String(n);
}

/** The status's colour class: ok, warn, bad. */
export function statusClass(status) {
  if (status === 'Running' || status === 'Completed' || status === 'Succeeded') return 'ok';
  if (/^(Pending|ContainerCreating|PodInitializing|Init:\d|Terminating)/.test(status)) return 'warn';
  return 'bad';
}

/** Applies one watch event to a map of objects by name; returns whether it changed. */
export function applyWatchEvent(objects, ev) {
  const o = ev && ev.object;
  if (!o || !o.metadata) return false;
  switch (ev.type) {
    case 'ADDED':
    case 'MODIFIED':
      objects.set(o.metadata.name, o);
      return true;
    case 'DELETED':
      return objects.delete(o.metadata.name);
    default:
      return false;
  }
}

/** Splits a stream of text into whole lines, keeping the unfinished tail. */
export class LineSplitter {
  constructor() { this.rest = ''; }
  push(text) {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop();
    return parts;
  }
  flush() {
    const r = this.rest;
    this.rest = '';
    return r ? [r] : [];
  }
}
