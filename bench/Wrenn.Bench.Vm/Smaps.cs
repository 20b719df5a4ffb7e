using System.Globalization;

/// <summary>One mapping of /proc/PID/smaps: its size, resident and proportional set, permissions and path ("" for anonymous, "[heap]" and the like for the kernel's names).</summary>
internal sealed record SmapsMapping(string Perms, string Path, long SizeKib, long RssKib, long PssKib);

/// <summary>Reads /proc/PID/smaps.</summary>
internal static class Smaps
{
    public static List<SmapsMapping> Read(int pid)
    {
        var mappings = new List<SmapsMapping>();
        string? perms = null, path = null;
        long size = 0, rss = 0, pss = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0)
                continue;
            if (fields[0].Contains('-') && !fields[0].EndsWith(':'))
            {
                if (perms is not null)
                    mappings.Add(new SmapsMapping(perms, path!, size, rss, pss));
                perms = fields[1];
                path = fields.Length > 5 ? string.Join(' ', fields[5..]) : "";
                (size, rss, pss) = (0, 0, 0);
                continue;
            }
            switch (fields[0])
            {
                case "Size:": size = long.Parse(fields[1], CultureInfo.InvariantCulture); break;
                case "Rss:": rss = long.Parse(fields[1], CultureInfo.InvariantCulture); break;
                case "Pss:": pss = long.Parse(fields[1], CultureInfo.InvariantCulture); break;
            }
        }
        if (perms is not null)
            mappings.Add(new SmapsMapping(perms, path!, size, rss, pss));
        return mappings;
    }
}
