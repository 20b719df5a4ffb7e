using GraphQL;
using GraphQL.Types;

namespace Wrenn.Bench.GraphQL;

/// <summary>tests/node/graphql-diff/schema.mjs's schema (the parts the queries use) on GraphQL.NET, the same shape as the graphql-js side.</summary>
public sealed class BenchSchema : Schema
{
    public sealed record Pet(string Type, string Name, string Species, bool Barks = false, string? Homepage = null, int? LivesLeft = null);

    private static readonly Pet[] Pets = [new("Dog", "Rex", "DOG", true, "https://rex.example"), new("Cat", "Tom", "CAT", LivesLeft: 7), new("Dog", "Fido", "DOG")];

    public BenchSchema()
    {
        Query = new QueryType();
        RegisterType(new DogType());
        RegisterType(new CatType());
    }

    private sealed class SpeciesType : EnumerationGraphType
    {
        public SpeciesType()
        {
            Name = "Species";
            Add("DOG", "DOG");
            Add("CAT", "CAT");
            Add("BIRD", "BIRD");
        }
    }

    private sealed class UrlType : StringGraphType
    {
        public UrlType() => Name = "Url";
    }

    private sealed class PetInterface : InterfaceGraphType<Pet>
    {
        public PetInterface()
        {
            Name = "Pet";
            Field<NonNullGraphType<StringGraphType>>("name");
            Field<NonNullGraphType<SpeciesType>>("species");
        }
    }

    private sealed class DogType : ObjectGraphType<Pet>
    {
        public DogType()
        {
            Name = "Dog";
            Interface<PetInterface>();
            IsTypeOf = o => o is Pet { Type: "Dog" };
            Field<NonNullGraphType<StringGraphType>, string>("name").Resolve(c => c.Source.Name);
            Field<NonNullGraphType<SpeciesType>, string>("species").Resolve(c => c.Source.Species);
            Field<NonNullGraphType<BooleanGraphType>, bool>("barks").Resolve(c => c.Source.Barks);
            Field<UrlType, string?>("homepage").Resolve(c => c.Source.Homepage);
        }
    }

    private sealed class CatType : ObjectGraphType<Pet>
    {
        public CatType()
        {
            Name = "Cat";
            Interface<PetInterface>();
            IsTypeOf = o => o is Pet { Type: "Cat" };
            Field<NonNullGraphType<StringGraphType>, string>("name").Resolve(c => c.Source.Name);
            Field<NonNullGraphType<SpeciesType>, string>("species").Resolve(c => c.Source.Species);
            Field<IntGraphType, int?>("livesLeft").Resolve(c => c.Source.LivesLeft);
        }
    }

    private sealed class AnythingUnion : UnionGraphType
    {
        public AnythingUnion()
        {
            Name = "Anything";
            Type<DogType>();
            Type<CatType>();
        }
    }

    private sealed class QueryType : ObjectGraphType
    {
        public QueryType()
        {
            Name = "Query";
            Field<NonNullGraphType<ListGraphType<NonNullGraphType<PetInterface>>>, Pet[]>("pets").Resolve(_ => Pets);
            Field<PetInterface, Pet?>("pet").Argument<NonNullGraphType<StringGraphType>>("name")
                .Resolve(c => Pets.FirstOrDefault(p => p.Name == c.GetArgument<string>("name")));
            Field<ListGraphType<AnythingUnion>, Pet[]>("anything").Resolve(_ => Pets);
            Field<NonNullGraphType<QueryType>, object>("nested").Resolve(_ => new object());
        }
    }
}
