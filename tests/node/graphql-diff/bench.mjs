// graphql-js baseline for bench/Wrenn.Bench.GraphQL: parse+validate+execute per second, same schema and queries.
// Usage: node bench.mjs SECONDS < queries.json   (JSON object {name: query}); prints {name: opsPerSecond}.
import { parse, validate, execute } from 'graphql';
import { makeSchema } from './schema.mjs';

const seconds = Number(process.argv[2] ?? 3);
const queries = JSON.parse(await new Promise((ok) => { let s = ''; process.stdin.on('data', (c) => (s += c)); process.stdin.on('end', () => ok(s)); }));
const { schema, root } = makeSchema();
const once = async (q) => { const d = parse(q); if (validate(schema, d).length) throw new Error('invalid: ' + q); await execute({ schema, document: d, rootValue: root }); };
const out = {};
for (const [name, q] of Object.entries(queries)) {
  for (let i = 0; i < 200; i++) await once(q); // warmup
  let n = 0; const start = performance.now(); const end = start + seconds * 1000;
  while (performance.now() < end) { await once(q); n++; }
  out[name] = n / ((performance.now() - start) / 1000);
}
process.stdout.write(JSON.stringify(out));
