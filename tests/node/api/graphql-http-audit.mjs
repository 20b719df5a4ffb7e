// graphql-http's own audit of a server against the GraphQL-over-HTTP specification (npm).
// Usage: node graphql-http-audit.mjs URL API_KEY
// Prints one JSON line: {results: [{id, name, status, reason?}]}
import { auditServer } from 'graphql-http';

const [url, key] = process.argv.slice(2);
// Every request carries the key: the audit checks the transport, not the sign-in.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const summary = results.map(({ id, name, status, reason }) => ({ id, name, status, ...(reason ? { reason } : {}) }));
process.stdout.write(JSON.stringify({ results: summary }) + '\n');
