// The bench schema (bench/Wrenn.Bench.GraphQL) on the graphql-js side; the C# side builds the same shape.
import { buildSchema, GraphQLScalarType } from 'graphql';

export const sdl = `
scalar Url

enum Species { DOG CAT BIRD }

interface Pet { name: String! species: Species! }

type Dog implements Pet { name: String! species: Species! barks: Boolean! homepage: Url }
type Cat implements Pet { name: String! species: Species! lives: Int @deprecated(reason: "Use livesLeft.") livesLeft: Int }

union Anything = Dog | Cat

input PetFilter { species: Species nameContains: String = "" limit: Int = 10 }

input PetKey { name: String! species: Species }

type Query {
  pets(filter: PetFilter): [Pet!]!
  pet(name: String!): Pet
  petBy(key: PetKey!): Pet
  anything: [Anything]
  numbers(count: Int = 3): [[Int!]]
  broken: String!
  throws: String
  nested: Query!
}

type Mutation { rename(from: String!, to: String!): Pet }
`;

const data = () => [
  { __typename: 'Dog', name: 'Rex', species: 'DOG', barks: true, homepage: 'https://rex.example' },
  { __typename: 'Cat', name: 'Tom', species: 'CAT', lives: 9, livesLeft: 7 },
  { __typename: 'Dog', name: 'Fido', species: 'DOG', barks: false, homepage: null },
];

export function makeSchema() {
  const schema = buildSchema(sdl);
  const pets = data();
  const resolveType = (v) => v.__typename;
  schema.getType('Pet').resolveType = resolveType;
  schema.getType('Anything').resolveType = resolveType;
  const url = schema.getType('Url');
  Object.assign(url, new GraphQLScalarType({ name: 'Url', serialize: (v) => String(v), parseValue: (v) => String(v) }));
  const root = {
    pets: ({ filter }) => pets
      .filter((p) => !filter?.species || p.species === filter.species)
      .filter((p) => p.name.includes(filter?.nameContains ?? ''))
      .slice(0, filter?.limit ?? 10),
    pet: ({ name }) => pets.find((p) => p.name === name) ?? null,
    petBy: ({ key }) => pets.find((p) => p.name === key.name && (!key.species || p.species === key.species)) ?? null,
    anything: () => [...pets, null],
    numbers: ({ count }) => Array.from({ length: count }, (_, i) => Array.from({ length: i }, (_, j) => j)),
    broken: () => null,
    throws: () => { throw new Error('internal detail'); },
    nested: () => root,
    rename: ({ from, to }) => { const p = pets.find((x) => x.name === from); if (p) p.name = to; return p ?? null; },
  };
  return { schema, root };
}
