using System.Runtime.CompilerServices;
using Wrenn.GraphQL.Engine.Execution;

namespace Wrenn.GraphQL.Engine.Tests.Execution;

/// <summary>Interfaces, unions and enums in execution, and subscriptions (spec 6.2.3) with cancellation.</summary>
public sealed class AbstractTypesAndSubscriptionTests
{
    private enum Mood { HAPPY, GRUMPY }
    private sealed record Dog(string Name, Mood Mood);
    private sealed record Cat(string Name, int Lives);

    private sealed class Source
    {
        public bool Disposed;
        public int Yielded;

        public async IAsyncEnumerable<object?> Ticks([EnumeratorCancellation] CancellationToken ct = default)
        {
            try
            {
                for (int i = 1; ; i++)
                {
                    await Task.Yield();
                    ct.ThrowIfCancellationRequested();
                    Yielded = i;
                    yield return i;
                }
            }
            finally { Disposed = true; }
        }
    }

    private static GraphQLSchema Schema(Source source)
    {
        ObjectType? dog = null, cat = null;
        var pet = new InterfaceType("Pet", v => v is Dog ? dog! : cat!).Field("name", ScalarType.String.NonNull());
        var mood = EnumType.From<Mood>();
        dog = new ObjectType("Dog").Implements(pet)
            .Field("name", ScalarType.String.NonNull(), c => ((Dog)c.Source!).Name)
            .Field("mood", mood, c => ((Dog)c.Source!).Mood);
        cat = new ObjectType("Cat").Implements(pet)
            .Field("name", ScalarType.String.NonNull(), c => ((Cat)c.Source!).Name)
            .Field("lives", ScalarType.Int, c => ((Cat)c.Source!).Lives);
        var any = new UnionType("Any", v => v is Dog ? dog : cat, dog, cat);
        var query = new ObjectType("Query")
            .Field("pets", pet.NonNull().List(), c => new object[] { new Dog("Rex", Mood.HAPPY), new Cat("Tom", 9) })
            .Field("any", any, c => new Cat("Kit", 7))
            .Field("badMood", mood, c => "SLEEPY");
        var subscription = new ObjectType("Subscription")
            .SubscriptionField("tick", ScalarType.Int.NonNull(), c => source.Ticks(c.CancellationToken));
        return new GraphQLSchema(query, null, subscription) { Unions = [any] };
    }

    [Fact]
    public async Task Fragments_on_interfaces_unions_and_objects_apply_by_runtime_type()
    {
        var result = await new Executor().ExecuteAsync(Schema(new Source()), new GraphQLRequest(
            "{ pets { __typename ... on Pet { name } ... on Dog { mood } ... on Cat { lives } } any { ... on Any { __typename } ... on Cat { name } } }"));
        Assert.Equal("""{"data":{"pets":[{"__typename":"Dog","name":"Rex","mood":"HAPPY"},{"__typename":"Cat","name":"Tom","lives":9}],"any":{"__typename":"Cat","name":"Kit"}}}""", result.ToJson());
    }

    [Fact]
    public async Task An_enum_value_outside_the_enum_is_a_field_error()
    {
        var result = await new Executor().ExecuteAsync(Schema(new Source()), new GraphQLRequest("{ badMood }"));
        Assert.Equal("""{"errors":[{"message":"Unexpected error.","locations":[{"line":1,"column":3}],"path":["badMood"]}],"data":{"badMood":null}}""", result.ToJson());
    }

    [Fact]
    public async Task Each_source_event_is_executed_as_a_response_and_stopping_disposes_the_source()
    {
        var source = new Source();
        var results = new List<string>();
        await foreach (ExecutionResult r in new Executor().SubscribeAsync(Schema(source), new GraphQLRequest("subscription { t: tick }")))
        {
            results.Add(r.ToJson());
            if (results.Count == 3) break;
        }
        Assert.Equal(["""{"data":{"t":1}}""", """{"data":{"t":2}}""", """{"data":{"t":3}}"""], results);
        Assert.True(source.Disposed);
        Assert.Equal(3, source.Yielded);
    }

    [Fact]
    public async Task Cancelling_a_subscription_stops_the_source()
    {
        var source = new Source();
        using var cts = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (ExecutionResult r in new Executor().SubscribeAsync(Schema(source), new GraphQLRequest("subscription { tick }"), cts.Token))
                if (++seen == 2) cts.Cancel();
        });
        Assert.True(source.Disposed);
        Assert.Equal(2, seen);
    }

    [Fact]
    public async Task A_subscription_with_two_root_fields_is_refused()
    {
        var results = new List<ExecutionResult>();
        await foreach (ExecutionResult r in new Executor().SubscribeAsync(Schema(new Source()), new GraphQLRequest("subscription { tick __typename }  ")))
            results.Add(r);
        Assert.False(results[0].HasData);
        Assert.Contains("must select only one top level field", results[0].Errors[0].Message);
    }
}
