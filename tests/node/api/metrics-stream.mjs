// A real graphql-ws client (npm) subscribing to Wrenn's sandboxMetrics.
// Usage: node metrics-stream.mjs URL API_KEY SANDBOX_ID INTERVAL_SECONDS SAMPLES
// Prints one JSON line: {samples: [...], error}
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, key, sandboxId, interval, count] = process.argv.slice(2);
const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
const samples = [];
let error = null;
await new Promise((resolve) => {
  const stop = client.subscribe(
    {
      query: 'subscription ($id: ID!, $s: Int) { sandboxMetrics(sandboxId: $id, intervalSeconds: $s) { cpuPercent memoryUsedMib memoryTotalMib hostMemoryMib sampledAt } }',
      variables: { id: sandboxId, s: Number(interval) },
    },
    {
      next: (value) => {
        if (value.errors) error = value.errors;
        if (value.data?.sandboxMetrics) samples.push(value.data.sandboxMetrics);
        if (samples.length >= Number(count) || error) {
          stop();
          resolve();
        }
      },
      error: (e) => { error = String(e?.message ?? JSON.stringify(e)); resolve(); },
      complete: resolve,
    });
});
await client.dispose();
process.stdout.write(JSON.stringify({ samples, error }) + '\n');
