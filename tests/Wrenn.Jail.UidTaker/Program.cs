using Wrenn.Plugins.Jail.Leases;

// Usage: UidTaker LEASE_DIR FIRST_UID COUNT TAKES OWNER — waits for a line on stdin (so both
// processes start together), takes TAKES uids for sandboxes of its own and prints them, one per line.
var leases = new UidLeases(args[0], int.Parse(args[1]), int.Parse(args[2]));
var takes = int.Parse(args[3]);
Console.In.ReadLine();
for (var i = 0; i < takes; i++)
    Console.WriteLine(leases.Take(args[4], $"sb-taker-{i}").Uid);
