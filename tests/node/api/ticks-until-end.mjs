// A real graphql-ws client (npm) on an execStream that never ends on its own (a tick a second).
// Usage: node ticks-until-end.mjs URL API_KEY SANDBOX_ID
// Prints "ticking" once the first tick arrived, then, when the subscription ends, one JSON line:
// {ticks, completed, error: {code, message} | null}.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, key, sandboxId] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${key}` },
  retryAttempts: 0,
});
let ticks = 0;
let error = null;
let completed = false;
await new Promise((resolve) => {
  client.subscribe(
    {
      query: 'subscription ($id: ID!) { execStream(sandboxId: $id, command: "sh", args: ["-c", "while :; do echo tick; sleep 1; done"]) { type data } }',
      variables: { id: sandboxId },
    },
    {
      next: (value) => {
        if (value.errors) {
          error = { code: value.errors[0]?.extensions?.code ?? null, message: value.errors[0]?.message ?? '' };
          return;
        }
        if (value.data?.execStream?.type === 'STDOUT') {
          ticks++;
          if (ticks === 1) process.stdout.write('ticking\n');
        }
      },
      error: (e) => {
        const first = Array.isArray(e) ? e[0] : e;
        error = { code: first?.extensions?.code ?? null, message: String(first?.message ?? first?.reason ?? JSON.stringify(e)) };
        resolve();
      },
      complete: () => { completed = true; resolve(); },
    },
  );
});
await client.dispose();
process.stdout.write(JSON.stringify({ ticks, completed, error }) + '\n');
