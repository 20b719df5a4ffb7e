// The introspection round trip, graphql-js side.
//   node introspection.mjs query   prints the introspection query graphql tooling sends
//   node introspection.mjs sdl     reads an introspection result (JSON) on stdin and prints
//                                  printSchema(buildClientSchema(result))
import { buildClientSchema, getIntrospectionQuery, printSchema } from 'graphql';

const options = { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true };

if (process.argv[2] === 'query') {
  process.stdout.write(getIntrospectionQuery(options));
} else {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { input += chunk; });
  process.stdin.on('end', () => {
    const result = JSON.parse(input);
    process.stdout.write(printSchema(buildClientSchema(result.data)));
  });
}
