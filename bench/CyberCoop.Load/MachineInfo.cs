using System.Runtime.InteropServices;

namespace CyberCoop.Load;

/// <summary>The machine a run happened on, and how busy it was (the machine is shared; figures mean little without it).</summary>
internal static class MachineInfo
{
    /// <summary>1, 5 and 15 minute load averages from /proc/loadavg, or "n/a".</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} / {parts[1]} / {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public static string Describe()
    {
        var cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
            // Keep "unknown".
        }

        return $"{Environment.ProcessorCount} cores, {cpu}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
