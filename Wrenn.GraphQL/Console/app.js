// Wrenn's web console: plain JavaScript against the same API everyone uses (GraphQL over HTTP for
// queries and mutations, graphql-transport-ws for live command output, /files for transfers).
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
    const data = await gql(`{ sandboxes(first: 100) { nodes { id state vcpus memoryMib expiresAt template { name } } } }`);
    const rows = data.sandboxes.nodes;
    const body = $('sandboxes').querySelector('tbody');
    body.replaceChildren(...rows.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.id = s.id;
      tr.className = s.id === state.selected ? 'chosen' : '';
      const cells = [s.id, s.state, s.template.name, `${s.vcpus} vCPU, ${s.memoryMib} MiB`, s.expiresAt ?? ''];
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
  state.selected = id;
  $('selected').hidden = false;
  $('selected-id').textContent = id;
  window.wrennMetrics?.show(id);
  for (const tr of $('sandboxes').querySelectorAll('tbody tr')) tr.className = tr.dataset.id === id ? 'chosen' : '';
}

// graphql-transport-ws, the small part a console needs: init with the key, one subscription at a time.
function runStreaming(id, command, args) {
  const output = $('output');
  output.replaceChildren();
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`, 'graphql-transport-ws');
  state.running = socket;
  $('stop').disabled = false;
  const append = (text, className) => {
    const span = document.createElement('span');
    span.textContent = text;
    if (className) span.className = className;
    output.append(span);
    output.scrollTop = output.scrollHeight;
  };
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${state.key}` } }));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'connection_ack') {
      socket.send(JSON.stringify({
        id: '1', type: 'subscribe',
        payload: {
          query: 'subscription ($id: ID!, $command: String!, $args: [String!]) { execStream(sandboxId: $id, command: $command, args: $args) { type data exitCode } }',
          variables: { id, command, args },
        },
      }));
    } else if (message.type === 'next') {
      if (message.payload.errors) append(message.payload.errors.map((e) => e.message).join('\n') + '\n', 'stderr');
      const e = message.payload.data?.execStream;
      if (!e) return;
      if (e.type === 'EXIT') append(`\n[exit ${e.exitCode}]\n`, 'exit');
      else append(e.data, e.type === 'STDERR' ? 'stderr' : '');
    } else if (message.type === 'error') {
      append(message.payload.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('\n') + '\n', 'stderr');
    } else if (message.type === 'complete') {
      socket.close(1000);
    } else if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    }
  };
  socket.onclose = (event) => {
    $('stop').disabled = true;
    if (event.code >= 4400) append(`\n[closed: ${event.code} ${event.reason}]\n`, 'stderr');
    state.running = null;
  };
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

$('refresh').addEventListener('click', refresh);

$('exec-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const args = $('args').value.split(' ').filter((a) => a.length > 0);
  runStreaming(state.selected, $('command').value, args);
});

$('stop').addEventListener('click', () => {
  if (state.running) {
    state.running.send(JSON.stringify({ id: '1', type: 'complete' }));
    state.running.close(1000);
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

$('api-key').value = state.key;
if (state.key) refresh();
