// The terminal: xterm.js over the gateway's exec (a WebSocket of the
// Kubernetes channel protocol), with resize, copy and paste, a shell choice,
// reconnect, and the exit code shown at the end.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import * as ch from './lib/channel.js';
import { execURL, session } from './api.js';
import { h, clear } from './dom.js';

const dec = new TextDecoder();

function themeColors() {
  const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
  return dark
    ? { background: '#111418', foreground: '#d8dee9', cursor: '#d8dee9', selectionBackground: '#3b4252' }
    : { background: '#fbfbfb', foreground: '#1f2328', cursor: '#1f2328', selectionBackground: '#c8d6f0' };
}

/** Runs a command without a terminal and resolves with its exit code and stdout. */
function probe(namespace, pod, container, command) {
  return new Promise((resolve) => {
    const ws = new WebSocket(execURL(namespace, pod, ch.execQuery({ container, command, tty: false, stdin: false })), ch.PROTOCOLS);
    ws.binaryType = 'arraybuffer';
    let out = '';
    let code = null;
    const timer = setTimeout(() => ws.close(), 5000);
    ws.onmessage = (ev) => {
      const m = ch.parse(ev.data);
      if (m.channel === ch.STDOUT) out += dec.decode(m.data);
      else if (m.channel === ch.ERROR && m.data.length) code = ch.exitStatus(dec.decode(m.data)).code;
    };
    ws.onclose = () => {
      clearTimeout(timer);
      resolve({ code, out });
    };
  });
}

/**
 * Mounts the terminal view into root for a pod. containers are its
 * container names. Returns a function that tears it down.
 */
export function mountTerminal(root, { namespace, pod, containers, onEnded }) {
  let ws = null;
  let term = null;
  let fit = null;
  let observer = null;
  let closedByUs = false;

  const container = h('select', { id: 'term-container', 'aria-label': 'Container' },
    containers.map((c) => h('option', { value: c }, c)));
  const shell = h('select', { id: 'term-shell', 'aria-label': 'Shell' },
    h('option', { value: 'sh' }, 'sh'),
    h('option', { value: 'bash', disabled: true }, 'bash (checking…)'));
  const connectBtn = h('button', { id: 'term-connect', type: 'button' }, 'Reconnect');
  const status = h('span', { id: 'term-status', class: 'status', role: 'status', 'aria-live': 'polite' }, 'connecting…');
  const screen = h('div', { id: 'terminal', class: 'terminal' });
  const bar = h('div', { class: 'toolbar' },
    h('label', {}, 'Container ', container),
    h('label', {}, 'Shell ', shell),
    connectBtn,
    h('span', { class: 'hint' }, 'Copy: Ctrl+Shift+C · Paste: Ctrl+Shift+V'),
    status);
  clear(root).append(bar, screen);

  function setStatus(text, cls = '') {
    status.textContent = text;
    status.className = 'status ' + cls;
  }

  async function checkBash() {
    const opt = shell.querySelector('option[value=bash]');
    const r = await probe(namespace, pod, container.value, ['sh', '-c', 'command -v bash']);
    if (r.code === 0) {
      opt.disabled = false;
      opt.textContent = 'bash';
    } else {
      opt.textContent = 'bash (not in this container)';
    }
  }

  function sendResize() {
    if (ws && ws.readyState === WebSocket.OPEN && term) ws.send(ch.resizeFrame(term.cols, term.rows));
  }

  function connect() {
    disconnect();
    closedByUs = false;
    if (!term) {
      term = new Terminal({ cursorBlink: true, fontSize: 14, lineHeight: 1.2, scrollback: 5000, theme: themeColors(), allowProposedApi: false });
      fit = new FitAddon();
      term.loadAddon(fit);
      term.open(screen);
      // Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes (Ctrl+C
      // stays the shell's interrupt). Every event of those keys is ours.
      term.attachCustomKeyEventHandler((e) => {
        if (!e.ctrlKey || !e.shiftKey || (e.code !== 'KeyC' && e.code !== 'KeyV')) return true;
        if (e.type === 'keydown') {
          if (e.code === 'KeyC') {
            const sel = term.getSelection();
            if (sel && navigator.clipboard) navigator.clipboard.writeText(sel).catch(() => {});
          } else if (navigator.clipboard && navigator.clipboard.readText) {
            navigator.clipboard.readText().then((t) => term.paste(t)).catch(() => {});
          }
        }
        e.preventDefault();
        return false;
      });
      term.onData((d) => {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(ch.frame(ch.STDIN, d));
      });
      term.onResize(sendResize);
      observer = new ResizeObserver(() => {
        try {
          fit.fit();
        } catch {
          /* not visible */
        }
      });
      observer.observe(screen);
      window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
        term.options.theme = themeColors();
      });
    } else {
      term.reset();
    }
    fit.fit();
    const q = ch.execQuery({ container: container.value, command: [shell.value], tty: true });
    setStatus('connecting…');
    const sock = new WebSocket(execURL(namespace, pod, q), ch.PROTOCOLS);
    sock.binaryType = 'arraybuffer';
    ws = sock;
    let ended = false;
    sock.onopen = () => {
      setStatus(`connected: ${shell.value} in ${container.value}`, 'ok');
      sendResize();
      term.focus();
    };
    sock.onmessage = (ev) => {
      const m = ch.parse(ev.data);
      if (m.channel === ch.STDOUT || m.channel === ch.STDERR) term.write(m.data);
      else if (m.channel === ch.ERROR && m.data.length) {
        ended = true;
        const r = ch.exitStatus(dec.decode(m.data));
        if (r.code !== null) setStatus(`exited with code ${r.code}`, r.code === 0 ? 'ok' : 'bad');
        else setStatus(`ended: ${r.message}`, 'bad');
      }
    };
    sock.onclose = async () => {
      if (ws !== sock) return;
      ws = null;
      if (closedByUs || ended) return;
      // Cut without an exit status: say why if the gateway can.
      try {
        await session();
        setStatus(sock.protocol ? 'the connection closed (the gateway ended the session or the policy no longer allows it)'
          : 'the terminal could not be opened (refused by the gateway or the pod)', 'bad');
      } catch (e) {
        setStatus('session ended: your login expired; ', 'bad');
        status.append(h('a', { href: '#/login', id: 'term-login' }, 'log in again'));
        if (onEnded) onEnded(e);
      }
    };
  }

  function disconnect() {
    if (ws) {
      closedByUs = true;
      try {
        ws.close();
      } catch {
        /* already closed */
      }
      ws = null;
    }
  }

  connectBtn.addEventListener('click', connect);
  shell.addEventListener('change', connect);
  container.addEventListener('change', () => {
    checkBash();
    connect();
  });
  connect();
  checkBash();

  return () => {
    disconnect();
    if (observer) observer.disconnect();
    if (term) term.dispose();
  };
}
