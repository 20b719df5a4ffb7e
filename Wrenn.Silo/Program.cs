// The `wrenn` command line; commands are added as their parts land.
Console.Error.WriteLine("wrenn: no commands yet");
return 2;
