// Pure helpers for the log view.

/** The log request's query from the view's settings. */
export function logQuery({ container, follow, tail, since, timestamps }) {
  const q = new URLSearchParams();
  if (container) q.set('container', container);
  if (follow) q.set('follow', 'true');
  const t = Number.parseInt(tail, 10);
  if (Number.isFinite(t) && t >= 0) q.set('tailLines', String(t));
  const s = sinceSeconds(since);
  if (s > 0) q.set('sinceSeconds', String(s));
  if (timestamps) q.set('timestamps', 'true');
  return q.toString();
}

/** "30s", "5m", "2h", "1d" in seconds; 0 for "" or anything else. */
export function sinceSeconds(v) {
  const m = /^(\d+)([smhd])$/.exec(String(v || '').trim());
  if (!m) return 0;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
}

/**
 * Splits a line around the matches of a search (case-insensitive, plain
 * text, not a regular expression): [{text, match}].
 */
export function highlight(line, query) {
  if (!query) return [{ text: line, match: false }];
  const out = [];
  const l = line.toLowerCase();
  const q = query.toLowerCase();
  let i = 0;
  for (;;) {
    const j = l.indexOf(q, i);
    if (j < 0) break;
    if (j > i) out.push({ text: line.slice(i, j), match: false });
    out.push({ text: line.slice(j, j + q.length), match: true });
    i = j + q.length;
  }
  if (i < line.length) out.push({ text: line.slice(i), match: false });
  return out;
}

/** A bounded buffer of lines: the oldest drop out past max. */
export class LineBuffer {
  constructor(max = 20000) {
    this.max = max;
    this.lines = [];
    this.dropped = 0;
  }
  push(lines) {
    this.lines.push(...lines);
    const over = this.lines.length - this.max;
    if (over > 0) {
      this.lines.splice(0, over);
      this.dropped += over;
    }
    return over > 0 ? over : 0;
  }
  clear() {
    this.lines = [];
    this.dropped = 0;
  }
  count(query) {
    if (!query) return this.lines.length;
    const q = query.toLowerCase();
    return this.lines.reduce((n, l) => n + (l.toLowerCase().includes(q) ? 1 : 0), 0);
  }
}

/** The file name a download gets. */
export function downloadName(pod, container, now = new Date()) {
  const ts = now.toISOString().replace(/[:]/g, '').replace(/\..*$/, 'Z');
  return `${pod}${container ? `_${container}` : ''}_${ts}.log`.replace(/[^A-Za-z0-9._-]/g, '_');
}
