// Batch runner: reads a JSON array of {query, variables, operationName} on stdin, writes a JSON array of
// {validationErrors, result} on stdout. One invocation per test run, not one per document.
import { parse, validate, execute, GraphQLError } from 'graphql';
import { makeSchema } from './schema.mjs';

const input = JSON.parse(await new Promise((ok) => { let s = ''; process.stdin.on('data', (c) => (s += c)); process.stdin.on('end', () => ok(s)); }));
const out = [];
for (const item of input) {
  const { schema, root } = makeSchema(); // fresh data per document: mutations must not leak into the next
  let result;
  try {
    const doc = parse(item.query);
    const errors = validate(schema, doc);
    result = errors.length
      ? { errors: errors.map((e) => e.toJSON()) }
      : await execute({ schema, document: doc, rootValue: root, variableValues: item.variables ?? undefined, operationName: item.operationName ?? undefined });
  } catch (e) {
    if (!(e instanceof GraphQLError)) throw e;
    result = { errors: [e.toJSON()] };
  }
  out.push(JSON.parse(JSON.stringify(result)));
}
process.stdout.write(JSON.stringify(out));
