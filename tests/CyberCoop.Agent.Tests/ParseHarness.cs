using System.Net;
using System.Text;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Tests;

/// <summary>Runs parsers over files and strings for tests.</summary>
internal static class ParseHarness
{
    public static (List<Sighting> Sightings, ParseDiagnostics Diagnostics) File(
        string path, SourceFormat format, string[]? homeNet = null, FieldMapping? mapping = null, string[]? allowlist = null, int maxLineBytes = FileParser.DefaultMaxLineBytes)
    {
        var diagnostics = new ParseDiagnostics();
        var emitter = new SightingEmitter(new SourceProfile { Sensor = "test" }, Filter(homeNet, allowlist), diagnostics);
        var all = new List<Sighting>();
        FileParser.Parse(path, format, emitter, mapping, all.AddRange, maxLineBytes);
        return (all, diagnostics);
    }

    public static (List<Sighting> Sightings, ParseDiagnostics Diagnostics) Text(
        string text, SourceFormat format, string[]? homeNet = null, FieldMapping? mapping = null, string fileName = "input.log", string[]? allowlist = null)
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, fileName);
        System.IO.File.WriteAllText(path, text, new UTF8Encoding(false));
        return File(path, format, homeNet, mapping, allowlist);
    }

    public static SightingFilter Filter(string[]? homeNet, string[]? allowlist = null) =>
        new((homeNet ?? []).Select(h => IPNetwork.Parse(h)), allowlist ?? []);

    public static bool IsPrivateOrIn(string value, params string[] networks)
    {
        if (!IPAddress.TryParse(value, out var a))
        {
            return false;
        }

        return networks.Concat(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10"])
            .Any(n => IPNetwork.Parse(n).Contains(a));
    }
}
