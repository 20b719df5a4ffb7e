// The console's plots: a sandbox's CPU and memory over the last minutes (its history, then live
// samples from the sandboxMetrics subscription), and the hosts and templates with what they hold.
// Drawn with uPlot (vendored, served by the silo). The plotted series stay readable on
// window.wrennPlots for tests and curious users.
'use strict';

const wrennPlots = { sandbox: null, cpu: null, memory: null, socket: null };
window.wrennPlots = wrennPlots;

function metricsKey() {
  return localStorage.getItem('wrenn-api-key') || '';
}

async function metricsQuery(query, variables = {}) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json', Authorization: `Bearer ${metricsKey()}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) throw new Error(`${body.errors[0].extensions?.code ?? 'ERROR'}: ${body.errors[0].message}`);
  return body.data;
}

const MINUTES = 10;
const fields = 'cpuPercent memoryUsedMib memoryTotalMib hostCpuPercent hostMemoryMib sampledAt';

function newPlot(target, title, series, yRange) {
  target.replaceChildren();
  const opts = {
    title, width: Math.max(320, target.clientWidth || 480), height: 200,
    scales: { x: { time: true }, y: yRange ? { range: yRange } : {} },
    series: [{}, ...series],
    axes: [{}, { size: 50 }],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], target);
}

function addSample(sample) {
  const t = Date.parse(sample.sampledAt) / 1000;
  for (const [plot, values] of [[wrennPlots.cpu, [sample.cpuPercent, sample.hostCpuPercent]], [wrennPlots.memory, [sample.memoryUsedMib, sample.hostMemoryMib]]]) {
    const data = plot.data.map((column) => Array.from(column));
    if (data[0].length && data[0][data[0].length - 1] >= t) continue;
    data[0].push(t);
    values.forEach((v, i) => data[i + 1].push(v));
    const from = t - MINUTES * 60;
    while (data[0].length && data[0][0] < from) data.forEach((column) => column.shift());
    plot.setData(data);
  }
  document.getElementById('metrics-now').textContent =
    `CPU ${sample.cpuPercent.toFixed(1)} % (host ${sample.hostCpuPercent.toFixed(1)} %), memory ${sample.memoryUsedMib} of ${sample.memoryTotalMib} MiB (VMM PSS ${sample.hostMemoryMib} MiB) at ${sample.sampledAt}`;
}

// graphql-transport-ws: one subscription, live samples every 2 s.
function subscribeMetrics(id) {
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`, 'graphql-transport-ws');
  wrennPlots.socket = socket;
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${metricsKey()}` } }));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'connection_ack') {
      socket.send(JSON.stringify({ id: 'm', type: 'subscribe', payload: {
        query: `subscription ($id: ID!) { sandboxMetrics(sandboxId: $id, intervalSeconds: 2) { ${fields} } }`, variables: { id } } }));
    } else if (message.type === 'next' && message.payload.data?.sandboxMetrics && wrennPlots.sandbox === id) {
      addSample(message.payload.data.sandboxMetrics);
    } else if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    }
  };
}

async function showMetrics(id) {
  if (wrennPlots.socket) wrennPlots.socket.close(1000);
  wrennPlots.sandbox = id;
  document.getElementById('metrics').hidden = false;
  wrennPlots.cpu = newPlot(document.getElementById('plot-cpu'), 'CPU (%)',
    [{ label: 'guest', stroke: '#2f6fde', width: 2 }, { label: 'VMM on host', stroke: '#d9822b', width: 1 }], [0, 100]);
  wrennPlots.memory = newPlot(document.getElementById('plot-memory'), 'Memory (MiB)',
    [{ label: 'guest used', stroke: '#2f9e44', width: 2 }, { label: 'VMM PSS', stroke: '#a33ea1', width: 1 }]);
  try {
    const data = await metricsQuery(`query ($id: ID!) { sandbox(id: $id) { metricsHistory(minutes: ${MINUTES}) { ${fields} } } }`, { id });
    for (const sample of data.sandbox?.metricsHistory ?? []) addSample(sample);
  } catch (e) {
    document.getElementById('metrics-now').textContent = e.message;
  }
  subscribeMetrics(id);
}

function cell(tr, text) {
  const td = document.createElement('td');
  td.textContent = text;
  tr.append(td);
}

async function refreshOverview() {
  try {
    const data = await metricsQuery(`{
      hosts { name live vcpus reservedVcpus memoryMib reservedMemoryMib diskMib reservedDiskMib sandboxes
              usage { cpuPercent memoryUsedMib diskUsedMib runningVms vmmMemoryMib } }
      templates { name kind vcpus memoryMib sandboxes } }`);
    document.querySelector('#hosts tbody').replaceChildren(...data.hosts.map((h) => {
      const tr = document.createElement('tr');
      tr.dataset.host = h.name;
      cell(tr, h.name + (h.live ? '' : ' (not live)'));
      cell(tr, `${h.reservedVcpus} of ${h.vcpus}`);
      cell(tr, `${h.reservedMemoryMib} of ${h.memoryMib} MiB`);
      cell(tr, `${Math.round(h.reservedDiskMib)} of ${Math.round(h.diskMib)} MiB`);
      cell(tr, h.usage ? `${h.usage.cpuPercent.toFixed(1)} %` : '');
      cell(tr, h.usage ? `${h.usage.memoryUsedMib} MiB` : '');
      cell(tr, h.usage ? `${h.usage.runningVms} VMs, ${h.usage.vmmMemoryMib} MiB PSS` : '');
      return tr;
    }));
    document.querySelector('#templates tbody').replaceChildren(...data.templates.map((t) => {
      const tr = document.createElement('tr');
      tr.dataset.template = t.name;
      for (const text of [t.name, t.kind, `${t.vcpus} vCPU, ${t.memoryMib} MiB`, String(t.sandboxes)]) cell(tr, text);
      return tr;
    }));
  } catch (e) {
    // The sandboxes table shows the key's errors; this part stays empty.
  }
}

window.wrennMetrics = { show: showMetrics, refresh: refreshOverview };
if (metricsKey()) refreshOverview();
setInterval(() => { if (metricsKey()) refreshOverview(); }, 10_000);
