// The kgate web console: a login page, the user's projects and namespaces,
// pods (watched), a pod's details and events, its logs and, for admins, a
// terminal. Plain modules, hash routes, no framework.

import * as api from './api.js';
import { h, clear, link } from './dom.js';
import { age, podStatus, ready, restarts, statusClass, applyWatchEvent } from './lib/format.js';
import { logQuery, highlight, LineBuffer, downloadName } from './lib/logs.js';

const app = document.getElementById('app');
let me = null; // the session: user, groups, expires, projects
let flash = '';

// A view is one page shown; what it starts (streams, timers, a terminal)
// stops when the next route replaces it, even when it starts late (after
// an await that outlived the view).
function newView() {
  const v = {
    alive: true,
    fns: [],
    onLeave(fn) {
      if (v.alive) v.fns.push(fn);
      else fn();
    },
    leave() {
      v.alive = false;
      for (const fn of v.fns.splice(0)) {
        try {
          fn();
        } catch {
          /* ignore */
        }
      }
    },
  };
  return v;
}
let view = newView();

function onLeave(fn) {
  view.onLeave(fn);
}

function leave() {
  view.leave();
  view = newView();
}

function enc(s) {
  return encodeURIComponent(s);
}

function header() {
  const nav = h('nav', { class: 'top', 'aria-label': 'Main' },
    link('#/', h('strong', {}, 'kgate')),
    h('span', { class: 'spacer' }));
  if (me) {
    const exp = new Date(me.expires);
    nav.append(
      h('span', { class: 'who', title: `groups: ${me.groups.join(', ') || 'none'}` }, me.user + (me.superAdmin ? ' (super admin)' : '')),
      h('span', { class: 'muted', id: 'expires' }, `until ${exp.toLocaleTimeString()}`),
      h('button', { type: 'button', id: 'logout', onclick: doLogout }, 'Log out'));
  }
  return nav;
}

function page(title, ...body) {
  document.title = title ? `${title} · kgate` : 'kgate';
  clear(app).append(header(), h('main', { id: 'main' }, ...body));
}

function errorBox(msg, id = 'error') {
  return h('p', { class: 'error', role: 'alert', id }, msg);
}

// A request answered 401: the token expired or the cookie is gone.
function sessionLost(e) {
  if (e && e.status === 401) {
    me = null;
    flash = 'Your session has expired. Log in again.';
    location.hash = '#/login';
    return true;
  }
  return false;
}

async function doLogout() {
  try {
    await api.logout();
  } catch {
    /* the cookie is cleared anyway on the next 401 */
  }
  me = null;
  flash = 'You are logged out.';
  location.hash = '#/login';
}

// ---- login

function waitText(seconds) {
  return seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
}

function loginView() {
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('p', { id: 'login-message', role: 'alert', class: flash ? 'info' : '' }, flash);
  flash = '';
  const btn = h('button', { type: 'submit', id: 'login-button' }, 'Log in');
  const form = h('form', { class: 'login', id: 'login-form' },
    h('h1', {}, 'Log in to kgate'),
    h('p', { class: 'muted' }, 'Your company (LDAP) account.'),
    h('label', { for: 'username' }, 'Username'), user,
    h('label', { for: 'password' }, 'Password'), pass,
    btn, msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    msg.className = 'info';
    msg.textContent = 'Checking…';
    try {
      me = await api.login(user.value, pass.value);
      pass.value = '';
      location.hash = '#/';
    } catch (e) {
      msg.className = 'error';
      if (e.status === 401) msg.textContent = 'Wrong username or password.';
      else if (e.status === 429) msg.textContent = `Too many failed logins. Try again in ${waitText(e.retryAfter || 60)}.`;
      else if (e.status === 503) msg.textContent = 'The login service (LDAP directory) is unavailable. Try again later.';
      else msg.textContent = `Login failed: ${e.message}`;
      pass.value = '';
      pass.focus();
    } finally {
      btn.disabled = false;
    }
  });
  page('Log in', form);
  user.focus();
}

// ---- home: projects and namespaces

async function homeView() {
  const list = h('div', { id: 'namespaces' }, h('p', { class: 'muted' }, 'Loading namespaces…'));
  const projects = h('table', { class: 'grid', id: 'projects' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Project'), h('th', {}, 'Role'), h('th', {}, 'Namespaces'))),
    h('tbody', {}, me.projects.map((p) => h('tr', {},
      h('td', {}, p.project), h('td', {}, h('span', { class: `role ${p.role}` }, p.role)),
      h('td', {}, p.namespaces.join(', '))))));
  page('Projects', h('h1', {}, 'Your projects'),
    me.projects.length ? projects : h('p', {}, 'You are in no project. Ask a project admin to add you.'),
    h('h2', {}, 'Namespaces'), list);
  try {
    const nsl = await api.get('/api/v1/namespaces');
    const names = nsl.items.map((n) => n.metadata.name).sort();
    clear(list).append(names.length
      ? h('ul', { class: 'links' }, names.map((n) => h('li', {}, link(`#/ns/${enc(n)}`, n))))
      : h('p', {}, 'No namespace of your projects exists yet.'));
  } catch (e) {
    if (!sessionLost(e)) clear(list).append(errorBox(e.message));
  }
}

// ---- pods of a namespace, watched

async function podsView(ns) {
  const pods = new Map();
  const tbody = h('tbody', {});
  const state = h('span', { class: 'muted', id: 'watch-state', role: 'status' }, 'loading…');
  const filter = h('input', { id: 'pod-filter', type: 'search', placeholder: 'Filter pods', 'aria-label': 'Filter pods' });
  page(`Pods in ${ns}`,
    h('p', { class: 'crumbs' }, link('#/', 'Namespaces'), ' / ', ns),
    h('div', { class: 'toolbar' }, h('h1', {}, `Pods in ${ns}`), filter, state),
    h('table', { class: 'grid', id: 'pods' },
      h('thead', {}, h('tr', {}, ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'Containers', 'Node'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody));

  function render() {
    const now = Date.now();
    const q = filter.value.trim().toLowerCase();
    const rows = [...pods.values()]
      .filter((p) => !q || p.metadata.name.toLowerCase().includes(q))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((p) => {
        const st = podStatus(p);
        return h('tr', { 'data-pod': p.metadata.name },
          h('td', {}, link(`#/ns/${enc(ns)}/pod/${enc(p.metadata.name)}`, p.metadata.name)),
          h('td', {}, ready(p)),
          h('td', {}, h('span', { class: `pill ${statusClass(st)}` }, st)),
          h('td', {}, restarts(p, now)),
          h('td', {}, age(p.metadata.creationTimestamp, now)),
          h('td', {}, (p.spec.containers || []).map((c) => c.name).join(', ')),
          h('td', {}, p.spec.nodeName || ''));
      });
    clear(tbody).append(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, q ? 'No pod matches.' : 'No pods.'))]));
  }
  filter.addEventListener('input', render);
  const ticker = setInterval(render, 5000);
  onLeave(() => clearInterval(ticker));

  const ctl = new AbortController();
  onLeave(() => ctl.abort());
  const base = `/api/v1/namespaces/${enc(ns)}/pods`;
  for (let attempt = 0; !ctl.signal.aborted; attempt++) {
    try {
      const list = await api.get(base);
      pods.clear();
      for (const p of list.items) pods.set(p.metadata.name, p);
      render();
      state.textContent = 'live';
      state.className = 'live';
      let rv = list.metadata.resourceVersion;
      await api.stream(`${base}?watch=1&allowWatchBookmarks=true&resourceVersion=${enc(rv)}`, (line) => {
        if (!line) return;
        const ev = JSON.parse(line);
        if (ev.type === 'ERROR') throw new Error(ev.object && ev.object.message);
        if (ev.object && ev.object.metadata) rv = ev.object.metadata.resourceVersion || rv;
        if (applyWatchEvent(pods, ev)) render();
      }, ctl.signal);
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (sessionLost(e)) return;
      state.textContent = `reconnecting: ${e.message}`;
      state.className = 'error';
      if (e.status === 403) {
        clear(tbody).append(h('tr', {}, h('td', { colspan: 7 }, errorBox(e.message))));
        return;
      }
    }
    if (ctl.signal.aborted) return;
    // The watch ended (the API server's timeout, the token's end): the
    // session says which.
    try {
      me = await api.session();
    } catch (e) {
      if (sessionLost(e)) return;
    }
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))));
  }
}

// ---- a pod: details, events, logs, terminal

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function labels(m) {
  const e = Object.entries(m || {});
  return e.length ? h('span', {}, e.map(([k, v]) => h('code', { class: 'label' }, `${k}=${v}`))) : 'none';
}

function containerState(s) {
  if (!s) return 'unknown';
  if (s.running) return `Running since ${new Date(s.running.startedAt).toLocaleString()}`;
  if (s.waiting) return `Waiting: ${s.waiting.reason || ''}${s.waiting.message ? ` (${s.waiting.message})` : ''}`;
  if (s.terminated) return `Terminated: ${s.terminated.reason || ''} exit code ${s.terminated.exitCode}`;
  return 'unknown';
}

async function podView(ns, name, tab) {
  const v = view;
  const body = h('div', { id: 'tab-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  page(`${name} (${ns})`,
    h('p', { class: 'crumbs' }, link('#/', 'Namespaces'), ' / ', link(`#/ns/${enc(ns)}`, ns), ' / ', name),
    h('h1', {}, name), tabs, body);
  let pod;
  let acc;
  try {
    [pod, acc] = await Promise.all([
      api.get(`/api/v1/namespaces/${enc(ns)}/pods/${enc(name)}`),
      api.access(ns, name),
    ]);
  } catch (e) {
    if (!sessionLost(e)) clear(body).append(errorBox(e.message));
    return;
  }
  const items = [['details', 'Details'], ['logs', 'Logs']];
  if (acc.exec.allowed) items.push(['terminal', 'Terminal']);
  for (const [id, label] of items) {
    tabs.append(h('a', {
      href: `#/ns/${enc(ns)}/pod/${enc(name)}${id === 'details' ? '' : '/' + id}`, role: 'tab', id: `tab-${id}`,
      'aria-selected': String(tab === id), class: tab === id ? 'active' : '',
    }, label));
  }
  if (!acc.exec.allowed) {
    tabs.append(h('span', { class: 'muted no-terminal', id: 'no-terminal', title: acc.exec.reason }, `No terminal: you are ${acc.role === 'none' ? 'not a member' : 'a ' + acc.role} here`));
  }
  const containers = (pod.spec.containers || []).map((c) => c.name);
  if (!v.alive) return;
  if (tab === 'logs') return logsTab(body, ns, name, containers, v);
  if (tab === 'terminal') {
    if (!acc.exec.allowed) {
      clear(body).append(errorBox(acc.exec.reason, 'terminal-refused'));
      return;
    }
    // xterm.js is loaded only for a terminal: the other pages stay light.
    const { mountTerminal } = await import('./terminal.js');
    v.onLeave(mountTerminal(body, { namespace: ns, pod: name, containers }));
    return;
  }
  detailsTab(body, ns, pod);
}

async function detailsTab(body, ns, pod) {
  const st = pod.status || {};
  const statuses = new Map((st.containerStatuses || []).map((c) => [c.name, c]));
  const events = h('div', { id: 'events' }, h('p', { class: 'muted' }, 'Loading events…'));
  clear(body).append(
    h('section', {}, kv([
      ['Namespace', ns], ['Node', pod.spec.nodeName], ['Status', podStatus(pod)], ['IP', st.podIP],
      ['Started', st.startTime ? new Date(st.startTime).toLocaleString() : ''], ['Age', age(pod.metadata.creationTimestamp)],
      ['Labels', labels(pod.metadata.labels)], ['Controlled by', (pod.metadata.ownerReferences || []).map((o) => `${o.kind}/${o.name}`).join(', ')],
      ['QoS class', st.qosClass], ['Service account', pod.spec.serviceAccountName],
    ])),
    h('h2', {}, 'Containers'),
    h('table', { class: 'grid', id: 'containers' },
      h('thead', {}, h('tr', {}, ['Name', 'Image', 'State', 'Ready', 'Restarts'].map((c) => h('th', {}, c)))),
      h('tbody', {}, (pod.spec.containers || []).map((c) => {
        const s = statuses.get(c.name) || {};
        return h('tr', {}, h('td', {}, c.name), h('td', {}, c.image), h('td', {}, containerState(s.state)),
          h('td', {}, s.ready ? 'yes' : 'no'), h('td', {}, String(s.restartCount || 0)));
      }))),
    h('h2', {}, 'Conditions'),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['Type', 'Status', 'Last transition'].map((c) => h('th', {}, c)))),
      h('tbody', {}, (st.conditions || []).map((c) => h('tr', {}, h('td', {}, c.type), h('td', {}, c.status),
        h('td', {}, c.lastTransitionTime ? age(c.lastTransitionTime) + ' ago' : ''))))),
    h('h2', {}, 'Events'), events);
  try {
    const q = new URLSearchParams({ fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod.metadata.name}` });
    const evl = await api.get(`/api/v1/namespaces/${enc(ns)}/events?${q}`);
    const items = evl.items.sort((a, b) => Date.parse(b.lastTimestamp || b.eventTime || 0) - Date.parse(a.lastTimestamp || a.eventTime || 0));
    clear(events).append(items.length
      ? h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, ['Type', 'Reason', 'Age', 'From', 'Message'].map((c) => h('th', {}, c)))),
        h('tbody', {}, items.map((e) => h('tr', {}, h('td', {}, e.type), h('td', {}, e.reason),
          h('td', {}, age(e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp)),
          h('td', {}, (e.source && e.source.component) || e.reportingComponent || ''), h('td', {}, e.message)))))
      : h('p', { class: 'muted' }, 'No events.'));
  } catch (e) {
    if (!sessionLost(e)) clear(events).append(errorBox(e.message, 'events-error'));
  }
}

function logsTab(body, ns, name, containers, v) {
  const container = h('select', { id: 'log-container', 'aria-label': 'Container' }, containers.map((c) => h('option', { value: c }, c)));
  const follow = h('input', { id: 'log-follow', type: 'checkbox', checked: true });
  const since = h('select', { id: 'log-since', 'aria-label': 'Since' },
    [['', 'all'], ['5m', '5 minutes'], ['1h', '1 hour'], ['24h', '24 hours']].map(([v, l]) => h('option', { value: v }, l)));
  const tail = h('input', { id: 'log-tail', type: 'number', min: '0', value: '500', 'aria-label': 'Last lines', class: 'narrow' });
  const search = h('input', { id: 'log-search', type: 'search', placeholder: 'Search in page', 'aria-label': 'Search in the log' });
  const onlyMatches = h('input', { id: 'log-only', type: 'checkbox' });
  const count = h('span', { class: 'muted', id: 'log-count', role: 'status' });
  const state = h('span', { class: 'muted', id: 'log-state' });
  const download = h('button', { type: 'button', id: 'log-download' }, 'Download');
  const out = h('pre', { id: 'log', class: 'log', tabindex: '0', 'aria-label': 'Log' });
  clear(body).append(
    h('div', { class: 'toolbar' },
      h('label', {}, 'Container ', container),
      h('label', {}, follow, ' Follow'),
      h('label', {}, 'Since ', since),
      h('label', {}, 'Last ', tail, ' lines'),
      search, h('label', {}, onlyMatches, ' Only matches'), count, download, state),
    out);
  const buf = new LineBuffer(20000);
  let ctl = null;
  let pending = [];
  let scheduled = false;

  function lineEl(l, q) {
    const d = document.createElement('div');
    for (const part of highlight(l, q)) d.append(part.match ? h('mark', {}, part.text) : document.createTextNode(part.text));
    return d;
  }

  function rerender() {
    const q = search.value;
    const only = onlyMatches.checked && q;
    const frag = document.createDocumentFragment();
    for (const l of buf.lines) if (!only || l.toLowerCase().includes(q.toLowerCase())) frag.append(lineEl(l, q));
    clear(out).append(frag);
    count.textContent = q ? `${buf.count(q)} matching of ${buf.lines.length} lines` : `${buf.lines.length} lines`;
    const first = out.querySelector('mark');
    if (first) first.scrollIntoView({ block: 'nearest' });
  }

  function flush() {
    scheduled = false;
    const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 30;
    const lines = pending;
    pending = [];
    const dropped = buf.push(lines);
    if (dropped) {
      for (let i = 0; i < dropped && out.firstChild; i++) out.removeChild(out.firstChild);
    }
    const q = search.value;
    const only = onlyMatches.checked && q;
    const frag = document.createDocumentFragment();
    for (const l of lines) if (!only || l.toLowerCase().includes(q.toLowerCase())) frag.append(lineEl(l, q));
    out.append(frag);
    count.textContent = q ? `${buf.count(q)} matching of ${buf.lines.length} lines` : `${buf.lines.length} lines`;
    if (stick) out.scrollTop = out.scrollHeight;
  }

  function settings() {
    return { container: container.value, follow: follow.checked, tail: tail.value, since: since.value };
  }

  async function start() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const mine = ctl;
    buf.clear();
    clear(out);
    state.textContent = follow.checked ? 'following' : 'loading';
    state.className = follow.checked ? 'live' : 'muted';
    try {
      await api.stream(`/api/v1/namespaces/${enc(ns)}/pods/${enc(name)}/log?${logQuery(settings())}`, (l) => {
        pending.push(l);
        if (!scheduled) {
          scheduled = true;
          requestAnimationFrame(flush);
        }
      }, mine.signal);
      if (mine.signal.aborted) return;
      if (pending.length) flush(); // the last lines before the state says the end
      state.textContent = follow.checked ? 'the stream ended' : 'end of log';
      state.className = 'muted';
      if (follow.checked) {
        try {
          await api.session();
        } catch (e) {
          sessionLost(e);
        }
      }
    } catch (e) {
      if (mine.signal.aborted) return;
      if (sessionLost(e)) return;
      state.textContent = e.message;
      state.className = 'error';
    }
  }

  download.addEventListener('click', async () => {
    try {
      const s = settings();
      const txt = await api.text(`/api/v1/namespaces/${enc(ns)}/pods/${enc(name)}/log?${logQuery({ ...s, follow: false })}`);
      const url = URL.createObjectURL(new Blob([txt], { type: 'text/plain' }));
      const a = h('a', { href: url, download: downloadName(name, s.container) });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      if (!sessionLost(e)) {
        state.textContent = e.message;
        state.className = 'error';
      }
    }
  });
  for (const el of [container, follow, since, tail]) el.addEventListener('change', start);
  search.addEventListener('input', rerender);
  onlyMatches.addEventListener('change', rerender);
  v.onLeave(() => ctl && ctl.abort());
  start();
}

// ---- routing

async function route() {
  leave();
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'login') {
    if (me) {
      location.hash = '#/';
      return;
    }
    loginView();
    return;
  }
  if (!me) {
    try {
      me = await api.session();
    } catch (e) {
      if (e.status !== 401) flash = e.message;
      location.hash = '#/login';
      return;
    }
  }
  if (parts[0] === 'ns' && parts[1]) {
    if (parts[2] === 'pod' && parts[3]) return podView(parts[1], parts[3], parts[4] || 'details');
    return podsView(parts[1]);
  }
  return homeView();
}

window.addEventListener('hashchange', route);
route();
