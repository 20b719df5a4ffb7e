// graphql-js as the oracle of which documents are valid against Wrenn's schema.
// Reads {sdl, documents: [{query, variables}]} on stdin; writes [{valid, errors}] on stdout, one entry per
// document: parse, validate (every rule of the specification), then coerce the variables of the operation.
import { buildSchema, parse, validate, getOperationAST, GraphQLError } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';

const input = JSON.parse(await new Promise((ok) => { let s = ''; process.stdin.on('data', (c) => (s += c)); process.stdin.on('end', () => ok(s)); }));
const schema = buildSchema(input.sdl);
const out = [];
for (const item of input.documents) {
  let errors;
  try {
    const document = parse(item.query);
    errors = validate(schema, document);
    if (errors.length === 0) {
      const operation = getOperationAST(document, null);
      if (!operation) errors = [new GraphQLError('No single operation to run.')];
      else {
        const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], item.variables ?? {});
        errors = coerced.errors ?? [];
      }
    }
  } catch (e) {
    if (!(e instanceof GraphQLError)) throw e;
    errors = [e];
  }
  out.push({ valid: errors.length === 0, errors: errors.map((e) => e.message) });
}
process.stdout.write(JSON.stringify(out));
