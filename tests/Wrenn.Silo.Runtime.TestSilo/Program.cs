using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Silo.Runtime;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Runtime.Testing;
using Wrenn.Silo.Runtime.Tests.Grains;

// Usage: Wrenn.Silo.Runtime.TestSilo <connection string> <silo name>
// Commands on stdin, one per line, each answered with one line on stdout:
//   where <key>   the silo and activation of counter grain <key>, called through this silo
//   members       the active silos this silo sees
//   exit          stop gracefully (also on end of input)
var registry = new GrainRegistry();
TestGrains.Register(registry);
var services = new ServiceCollection().AddSingleton<Probe>().BuildServiceProvider();
await using var silo = await GrainSilo.StartAsync(
    new SiloOptions { Name = args[1], ConnectionString = args[0], Membership = TestCluster.FastFailureDetection },
    registry, services, NullLoggerFactory.Instance, CancellationToken.None);
Console.WriteLine($"ready {silo.Name} {silo.Incarnation}");

while (Console.ReadLine() is { } line)
{
    var words = line.Split(' ', 2);
    try
    {
        switch (words[0])
        {
            case "where":
                var where = await silo.Grains.Get<ICounterGrain>(words[1]).WhereAsync();
                Console.WriteLine($"{where.Silo} {where.Activation}");
                break;
            case "members":
                Console.WriteLine(string.Join(' ', silo.Cluster.Where(s => s.Status == SiloStatus.Active).Select(s => s.Name).Order()));
                break;
            case "exit":
                return;
            default:
                Console.WriteLine($"error unknown command {words[0]}");
                break;
        }
    }
    catch (Exception e)
    {
        Console.WriteLine($"error {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    }
}
