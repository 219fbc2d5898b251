using System.Globalization;

namespace CyberCoop.Testing;

/// <summary>Reads /proc/&lt;pid&gt;/stat. CPU time, unlike wall time, stays meaningful on a shared, busy machine.</summary>
internal static class ProcStat
{
    /// <summary>Linux reports utime and stime in clock ticks of USER_HZ, which is 100 on every mainstream kernel.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>utime + stime (fields 14 and 15) of a stat line.</summary>
    public static TimeSpan CpuTime(string stat)
    {
        // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(rest[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(rest[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((utime + stime) / TicksPerSecond);
    }

    /// <summary>cutime + cstime (fields 16 and 17) of a stat line: the CPU time of the children the process has reaped.</summary>
    public static TimeSpan ChildrenCpuTime(string stat)
    {
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var cutime = long.Parse(rest[13], CultureInfo.InvariantCulture);
        var cstime = long.Parse(rest[14], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((cutime + cstime) / TicksPerSecond);
    }

    /// <summary>CPU time of this process (the driver, and the in-process SQLite baseline).</summary>
    public static TimeSpan Self() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    /// <summary>
    /// Bytes a process has written so far, from /proc/&lt;pid&gt;/io ("self" for this process); zeros where it cannot be
    /// read (not Linux, or another user's process). Unlike wall-clock rates these counts do not depend on how busy the
    /// machine is, so they compare two builds exactly.
    /// </summary>
    public static IoCounters Io(string pid)
    {
        try
        {
            return IoCounters.Parse(File.ReadAllText($"/proc/{pid}/io"));
        }
        catch (IOException)
        {
            return default;
        }
        catch (UnauthorizedAccessException)
        {
            return default;
        }
    }
}

/// <summary>
/// Write counters of /proc/&lt;pid&gt;/io: <see cref="Written"/> (wchar) counts the bytes passed to write(2)/pwrite(2)
/// (files and pipes; socket sends via send/sendmsg are not counted), <see cref="ToStorage"/> (write_bytes) the bytes of
/// page-cache pages the process dirtied, i.e. what the file system will write to the disk.
/// </summary>
internal readonly record struct IoCounters(long Written, long ToStorage)
{
    public static IoCounters Parse(string io)
    {
        long wchar = 0, writeBytes = 0;
        foreach (var line in io.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line.AsSpan(0, colon);
            var value = line.AsSpan(colon + 1).Trim();
            if (name.SequenceEqual("wchar"))
            {
                wchar = long.Parse(value, CultureInfo.InvariantCulture);
            }
            else if (name.SequenceEqual("write_bytes"))
            {
                writeBytes = long.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return new IoCounters(wchar, writeBytes);
    }

    public static IoCounters operator -(IoCounters a, IoCounters b) => new(a.Written - b.Written, a.ToStorage - b.ToStorage);

    /// <summary>KB (1,000 bytes) written per item.</summary>
    public double WrittenKbPer(long items) => items > 0 ? Written / 1000.0 / items : 0;

    /// <summary>KB (1,000 bytes) of dirtied page-cache pages per item.</summary>
    public double ToStorageKbPer(long items) => items > 0 ? ToStorage / 1000.0 / items : 0;
}
