using Wrenn.Plugins.Network.Netns;

// Usage: SlotTaker SLOT_DIR COUNT OWNER — waits for a line on stdin (so both processes start
// together), takes COUNT slots and prints their numbers, one per line.
var allocator = new SlotAllocator(args[0], maxSlots: 10_000);
var count = int.Parse(args[1]);
Console.In.ReadLine();
for (var i = 0; i < count; i++)
    Console.WriteLine(allocator.Take(args[2], $"sb-taker-{i}"));
