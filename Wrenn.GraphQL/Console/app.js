// Wrenn's web console: plain JavaScript against the same API everyone uses (GraphQL over HTTP for
// queries and mutations, graphql-transport-ws for live command and terminal output, /files for
// transfers, port URLs to open a sandbox's servers), and xterm.js (served by the silo from npm's build)
// for the terminal.
'use strict';

const state = { key: localStorage.getItem('wrenn-api-key') || '', selected: null, running: null };
const $ = (id) => document.getElementById(id);

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

async function gql(query, variables = {}) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json', Authorization: `Bearer ${state.key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
  }
  return body.data;
}

async function refresh() {
  try {
    const data = await gql(`{ sandboxes(first: 100) { nodes { id state pausedReason onTimeout autoPause { idleSeconds } autoResume vcpus memoryMib expiresAt template { name } } } }`);
    state.sandboxes = new Map(data.sandboxes.nodes.map((s) => [s.id, s]));
    const rows = data.sandboxes.nodes;
    const body = $('sandboxes').querySelector('tbody');
    body.replaceChildren(...rows.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.id = s.id;
      tr.className = s.id === state.selected ? 'chosen' : '';
      const cells = [s.id, s.pausedReason ? `${s.state} (${s.pausedReason})` : s.state, s.template.name, `${s.vcpus} vCPU, ${s.memoryMib} MiB`, s.expiresAt ?? '', lifecycleText(s)];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      const actions = document.createElement('td');
      for (const [label, action] of [['Open', 'open'], ['Pause', 'pause'], ['Resume', 'resume'], ['Destroy', 'destroy']]) {
        const button = document.createElement('button');
        button.textContent = label;
        button.className = action;
        button.disabled = action !== 'open' && ['DESTROYED', 'FAILED', 'LOST'].includes(s.state);
        button.addEventListener('click', () => act(action, s.id));
        actions.append(button);
      }
      tr.append(actions);
      return tr;
    }));
    status(`${rows.length} sandbox(es)`);
    window.wrennMetrics?.refresh();
  } catch (e) {
    status(e.message, true);
  }
}

// How a sandbox stops and starts by itself, in a few words.
function lifecycleText(s) {
  const parts = [`timeout ${s.onTimeout === 'PAUSE' ? 'pauses' : 'destroys'}`];
  if (s.autoPause) parts.push(`pauses after ${s.autoPause.idleSeconds} s idle`);
  if (s.autoResume) parts.push('wakes on use');
  return parts.join(' · ');
}

// The selected sandbox's lifecycle into its form.
function showLifecycle(id) {
  const s = state.sandboxes?.get(id);
  if (!s) return;
  $('lifecycle-on-timeout').value = s.onTimeout;
  $('lifecycle-idle').value = s.autoPause ? s.autoPause.idleSeconds : '';
  $('lifecycle-auto-resume').checked = s.autoResume;
}

async function act(action, id) {
  try {
    if (action === 'open') {
      select(id);
      return;
    }
    status(`${action}…`);
    if (action === 'destroy') await gql('mutation ($id: ID!) { destroySandbox(id: $id) }', { id });
    if (action === 'pause') await gql('mutation ($id: ID!) { pauseSandbox(id: $id) { id } }', { id });
    if (action === 'resume') await gql('mutation ($id: ID!) { resumeSandbox(id: $id) { id } }', { id });
    status(`${action}: done`);
  } catch (e) {
    status(e.message, true);
  }
  await refresh();
}

function select(id) {
  if (state.selected !== id) {
    detachTerminal();
    $('terminal').hidden = true;
    terminalStatus('');
    if (remembered().sandbox !== id) remember(id, null);
  }
  state.selected = id;
  $('selected').hidden = false;
  $('selected-id').textContent = id;
  window.wrennMetrics?.show(id);
  showLifecycle(id);
  for (const tr of $('sandboxes').querySelectorAll('tbody tr')) tr.className = tr.dataset.id === id ? 'chosen' : '';
  loadPorts();
}

// What listens in the guest, one row per port (a server may listen on IPv4 and IPv6 both).
async function loadPorts() {
  const id = state.selected;
  const body = $('ports').querySelector('tbody');
  try {
    const data = await gql('query ($id: ID!) { sandbox(id: $id) { listeningPorts { port address reachable pid command } } }', { id });
    if (id !== state.selected) return;
    const byPort = new Map();
    for (const p of data.sandbox?.listeningPorts ?? []) {
      const row = byPort.get(p.port) ?? { port: p.port, addresses: [], reachable: false, process: '' };
      row.addresses.push(p.address);
      row.reachable ||= p.reachable;
      if (p.pid && !row.process) row.process = `${p.command} (${p.pid})`;
      byPort.set(p.port, row);
    }
    body.replaceChildren(...[...byPort.values()].map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.port = p.port;
      for (const text of [p.port, p.addresses.join(', '), p.process]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      const td = document.createElement('td');
      const open = document.createElement('button');
      open.textContent = 'Open';
      open.className = 'open-port';
      open.disabled = !p.reachable;
      open.title = p.reachable ? 'Open in a new tab through a port URL' : 'Bound to loopback only: listen on 0.0.0.0 to reach it';
      open.addEventListener('click', () => openPort(id, p.port));
      td.append(open);
      tr.append(td);
      return tr;
    }));
  } catch (e) {
    status(e.message, true);
  }
}

// The tab opens at once (still within the click, so no pop-up blocker stops it) and goes to the port URL once made.
async function openPort(id, port) {
  const tab = window.open('about:blank', '_blank');
  try {
    const data = await gql('mutation ($id: ID!, $port: Int!) { createPortUrl(sandboxId: $id, port: $port) { url expiresAt } }', { id, port });
    if (tab) {
      tab.opener = null;
      tab.location.href = data.createPortUrl.url;
    }
    status(`port ${port}: ${data.createPortUrl.url} (until ${data.createPortUrl.expiresAt})`);
  } catch (e) {
    tab?.close();
    status(e.message, true);
  }
}

// graphql-transport-ws, the small part a console needs: one socket per subscription, init with the key.
// handlers: next(data), error(text), done(closedEarly). Returns { close() }.
function subscribe(query, variables, handlers) {
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`, 'graphql-transport-ws');
  let finished = false;
  const finish = (closedEarly) => {
    if (finished) return;
    finished = true;
    handlers.done?.(closedEarly);
  };
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${state.key}` } }));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'connection_ack') {
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
    } else if (message.type === 'next') {
      if (message.payload.errors) handlers.error?.(message.payload.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('\n'), message.payload.errors[0]);
      if (message.payload.data) handlers.next(message.payload.data);
    } else if (message.type === 'error') {
      handlers.error?.(message.payload.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('\n'), message.payload[0]);
    } else if (message.type === 'complete') {
      finish(false);
      socket.close(1000);
    } else if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    }
  };
  socket.onclose = (event) => {
    if (event.code >= 4400) handlers.error?.(`closed: ${event.code} ${event.reason}`);
    finish(true);
  };
  return {
    close() {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id: '1', type: 'complete' }));
      finished = true;
      socket.close(1000);
    },
  };
}

function runStreaming(id, command, args) {
  const output = $('output');
  output.replaceChildren();
  const append = (text, className) => {
    const span = document.createElement('span');
    span.textContent = text;
    if (className) span.className = className;
    output.append(span);
    output.scrollTop = output.scrollHeight;
  };
  $('stop').disabled = false;
  state.running = subscribe(
    'subscription ($id: ID!, $command: String!, $args: [String!]) { execStream(sandboxId: $id, command: $command, args: $args) { type data exitCode } }',
    { id, command, args },
    {
      next: (data) => {
        const e = data.execStream;
        if (e.type === 'EXIT') append(`\n[exit ${e.exitCode}]\n`, 'exit');
        else append(e.data, e.type === 'STDERR' ? 'stderr' : '');
      },
      error: (text) => append(`${text}\n`, 'stderr'),
      done: () => {
        $('stop').disabled = true;
        state.running = null;
      },
    });
}

// --- The terminal: a shell on a pseudo-terminal in the sandbox, shown by xterm.js -----------------
// The page's address remembers the sandbox and the shell's pid (#sandbox=…&terminal=…), so a reload
// attaches again: processOutput first replays what the shell printed (the last 1 MiB), then goes on live.

const terminal = { term: null, fit: null, attached: null, sandbox: null, pid: null, pending: [], sending: false, resizeTimer: null };

function remembered() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const pid = Number(hash.get('terminal'));
  return { sandbox: hash.get('sandbox'), pid: Number.isInteger(pid) && pid > 0 ? pid : null };
}

function remember(sandbox, pid) {
  const hash = new URLSearchParams();
  if (sandbox) hash.set('sandbox', sandbox);
  if (sandbox && pid) hash.set('terminal', String(pid));
  history.replaceState(null, '', `${location.pathname}${location.search}${hash.size ? `#${hash}` : ''}`);
}

function toBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

function terminalStatus(text, isError = false) {
  $('terminal-status').textContent = text;
  $('terminal-status').className = isError ? 'error' : '';
}

function ensureXterm() {
  if (terminal.term) return;
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontFamily: 'ui-monospace, monospace', fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($('terminal'));
  const encoder = new TextEncoder();
  term.onData((data) => sendKeys(encoder.encode(data)));
  term.onBinary((data) => sendKeys(Uint8Array.from(data, (c) => c.charCodeAt(0))));
  term.onResize(() => resizeSoon());
  window.addEventListener('resize', () => {
    if (!$('terminal').hidden) fit.fit();
  });
  terminal.term = term;
  terminal.fit = fit;
}

// Keys go out one request at a time, in order; what is typed meanwhile goes with the next one.
async function sendKeys(bytes) {
  if (!terminal.pid) return;
  terminal.pending.push(bytes);
  if (terminal.sending) return;
  terminal.sending = true;
  try {
    while (terminal.pending.length && terminal.pid) {
      const parts = terminal.pending.splice(0);
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      await gql('mutation ($id: ID!, $pid: Int!, $data: String!) { sendInput(sandboxId: $id, pid: $pid, data: $data, encoding: BASE64) }',
        { id: terminal.sandbox, pid: terminal.pid, data: toBase64(all) });
    }
  } catch (e) {
    terminalStatus(e.message, true);
  } finally {
    terminal.sending = false;
  }
}

// The shell's terminal follows the page's: resized a moment after the window stops changing.
function resizeSoon() {
  clearTimeout(terminal.resizeTimer);
  terminal.resizeTimer = setTimeout(resizeNow, 100);
}

async function resizeNow() {
  if (!terminal.pid || !terminal.term) return;
  const { cols, rows } = terminal.term;
  try {
    await gql('mutation ($id: ID!, $pid: Int!, $cols: Int!, $rows: Int!) { resizeTerminal(sandboxId: $id, pid: $pid, cols: $cols, rows: $rows) }',
      { id: terminal.sandbox, pid: terminal.pid, cols, rows });
    $('terminal').dataset.size = `${cols}x${rows}`;
  } catch (e) {
    terminalStatus(e.message, true);
  }
}

function detachTerminal() {
  terminal.attached?.close();
  terminal.attached = null;
  terminal.pid = null;
  terminal.pending = [];
  delete $('terminal').dataset.pid;
  delete $('terminal').dataset.size;
  $('terminal-end').hidden = true;
}

async function openTerminal() {
  const sandbox = state.selected;
  detachTerminal();
  $('terminal').hidden = false;
  ensureXterm();
  terminal.term.reset();
  terminal.fit.fit();
  const saved = remembered();
  let pid = saved.sandbox === sandbox ? saved.pid : null;
  try {
    if (!pid) {
      const { cols, rows } = terminal.term;
      const data = await gql('mutation ($id: ID!, $cols: Int!, $rows: Int!) { startProcess(sandboxId: $id, command: "bash", args: ["-l"], pty: {cols: $cols, rows: $rows}, tag: "console") { pid } }',
        { id: sandbox, cols, rows });
      pid = data.startProcess.pid;
    }
  } catch (e) {
    terminalStatus(e.message, true);
    return;
  }
  remember(sandbox, pid);
  terminal.sandbox = sandbox;
  terminal.pid = pid;
  $('terminal').dataset.pid = String(pid);
  $('terminal-end').hidden = false;
  terminalStatus(`shell ${pid}`);
  terminal.attached = subscribe('subscription ($id: ID!, $pid: Int!) { processOutput(sandboxId: $id, pid: $pid) { type data exitCode } }', { id: sandbox, pid }, {
    next: (data) => {
      const e = data.processOutput;
      if (e.type === 'PTY') terminal.term.write(fromBase64(e.data));
      else if (e.type === 'EXIT') {
        terminal.term.write(`\r\n[process exited ${e.exitCode}]\r\n`);
        terminalStatus(`shell ${pid} exited (${e.exitCode})`);
        remember(sandbox, null);
        detachTerminal();
      } else terminal.term.write(e.data.replaceAll('\n', '\r\n'));
    },
    error: (text, error) => {
      terminalStatus(text, true);
      if (error?.extensions?.code === 'NOT_FOUND') remember(sandbox, null); // the shell is gone: the next Terminal starts a new one
    },
    done: () => {
      if (terminal.pid === pid) terminalStatus(`shell ${pid}: detached (the sandbox paused or went away); Terminal attaches again`);
    },
  });
  await resizeNow();
  terminal.term.focus();
}

$('save-key').addEventListener('click', () => {
  state.key = $('api-key').value.trim();
  localStorage.setItem('wrenn-api-key', state.key);
  refresh();
});

$('create-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = { template: $('create-template').value || 'base', timeoutSeconds: Number($('create-timeout').value) || 600 };
  if ($('create-vcpus').value) input.vcpus = Number($('create-vcpus').value);
  if ($('create-memory').value) input.memoryMib = Number($('create-memory').value);
  input.onTimeout = $('create-on-timeout').value;
  if ($('create-idle').value) input.autoPause = { idleSeconds: Number($('create-idle').value) };
  input.autoResume = $('create-auto-resume').checked;
  status('creating… (a VM is booting)');
  $('create').disabled = true;
  try {
    const data = await gql('mutation ($input: CreateSandboxInput!) { createSandbox(input: $input) { id state } }', { input });
    status(`created ${data.createSandbox.id}`);
    await refresh();
    select(data.createSandbox.id);
  } catch (e) {
    status(e.message, true);
  } finally {
    $('create').disabled = false;
  }
});

// Every setting is sent: an empty idle time turns autoPause off (an explicit null).
$('lifecycle-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const id = state.selected;
  const idle = $('lifecycle-idle').value;
  try {
    await gql('mutation ($id: ID!, $onTimeout: TimeoutAction, $autoPause: AutoPauseInput, $autoResume: Boolean) { updateSandboxLifecycle(id: $id, onTimeout: $onTimeout, autoPause: $autoPause, autoResume: $autoResume) { id } }',
      { id, onTimeout: $('lifecycle-on-timeout').value, autoPause: idle ? { idleSeconds: Number(idle) } : null, autoResume: $('lifecycle-auto-resume').checked });
    status('lifecycle saved');
  } catch (e) {
    status(e.message, true);
  }
  await refresh();
});

$('refresh').addEventListener('click', refresh);
$('refresh-ports').addEventListener('click', loadPorts);

$('exec-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const args = $('args').value.split(' ').filter((a) => a.length > 0);
  runStreaming(state.selected, $('command').value, args);
});

$('stop').addEventListener('click', () => state.running?.close());

$('terminal-open').addEventListener('click', openTerminal);

$('terminal-end').addEventListener('click', async () => {
  try {
    await gql('mutation ($id: ID!, $pid: Int!) { signalProcess(sandboxId: $id, pid: $pid, signal: HUP) }', { id: terminal.sandbox, pid: terminal.pid });
  } catch (e) {
    terminalStatus(e.message, true);
  }
});

$('upload-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = $('upload-file').files[0];
  const path = $('upload-path').value || `/root/${file?.name ?? 'upload'}`;
  if (!file) return status('choose a file first', true);
  const response = await fetch(`/files/${state.selected}?path=${encodeURIComponent(path)}`, {
    method: 'PUT', headers: { Authorization: `Bearer ${state.key}` }, body: file,
  });
  status(response.ok ? `uploaded ${path}` : await response.text(), !response.ok);
});

$('download-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const path = $('download-path').value;
  const response = await fetch(`/files/${state.selected}?path=${encodeURIComponent(path)}`, { headers: { Authorization: `Bearer ${state.key}` } });
  if (!response.ok) return status(await response.text(), true);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = path.split('/').pop() || 'download';
  link.click();
  status(`downloaded ${path}`);
});

$('template-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await gql('mutation ($id: ID!, $name: String!) { createTemplateFromSandbox(sandboxId: $id, name: $name) { name } }', { id: state.selected, name: $('template-name').value });
    status('template made');
  } catch (e) {
    status(e.message, true);
  }
});

$('fork-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const data = await gql('mutation ($id: ID!, $count: Int) { forkSandbox(sandboxId: $id, count: $count) { id } }', { id: state.selected, count: Number($('fork-count').value) });
    status(`forked into ${data.forkSandbox.map((s) => s.id).join(', ')}`);
    refresh();
  } catch (e) {
    status(e.message, true);
  }
});

$('api-key').value = state.key;
if (state.key) {
  refresh();
  // After a reload: the sandbox that was open, and its terminal.
  const saved = remembered();
  if (saved.sandbox) {
    select(saved.sandbox);
    if (saved.pid) openTerminal();
  }
}
