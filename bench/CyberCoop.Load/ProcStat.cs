using System.Globalization;

namespace CyberCoop.Load;

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

    /// <summary>CPU time of this process (the driver, and the in-process SQLite baseline).</summary>
    public static TimeSpan Self() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
}
