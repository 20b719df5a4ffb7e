// A real graphql-ws client (npm) subscribing to Wrenn's execStream.
// Usage: node exec-stream.mjs URL API_KEY SANDBOX_ID LINES
// Prints one JSON line: {lines, inOrder, exitCode, events, error}
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, key, sandboxId, count] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${key}` },
  retryAttempts: 0,
});
const script = `i=0; while [ $i -lt ${count} ]; do i=$((i+1)); echo "line $i"; if [ $((i % 2000)) -eq 0 ]; then sleep 0.5; fi; done`;
let text = '';
let exitCode = null;
let events = 0;
let error = null;
await new Promise((resolve) => {
  client.subscribe(
    {
      query: 'subscription ($id: ID!, $args: [String!]) { execStream(sandboxId: $id, command: "sh", args: $args) { type data exitCode } }',
      variables: { id: sandboxId, args: ['-c', script] },
    },
    {
      next: (value) => {
        events++;
        if (value.errors) error = value.errors;
        const e = value.data?.execStream;
        if (!e) return;
        if (e.type === 'STDOUT') text += e.data;
        if (e.type === 'EXIT') exitCode = e.exitCode;
      },
      error: (e) => { error = String(e?.message ?? JSON.stringify(e)); resolve(); },
      complete: resolve,
    },
  );
});
await client.dispose();
const lines = text.split('\n').filter((l) => l.length > 0);
const inOrder = lines.every((l, i) => l === `line ${i + 1}`);
process.stdout.write(JSON.stringify({ lines: lines.length, inOrder, exitCode, events, error }) + '\n');
