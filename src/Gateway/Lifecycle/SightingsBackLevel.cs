namespace CyberCoop.Gateway.Lifecycle;

/// <summary>What a node reports back to a peer about the peer's indicators its sensors saw (<c>peers[].sightingsBack</c>).</summary>
internal enum SightingsBackLevel
{
    /// <summary>Nothing (the default).</summary>
    Off,

    /// <summary>Per indicator and period: count, first and last seen.</summary>
    Counts,

    /// <summary>As <see cref="Counts"/>, plus the sectors where it was seen.</summary>
    CountsAndSector,
}

/// <summary>Parsing of <see cref="SightingsBackLevel"/> from the config's names.</summary>
internal static class SightingsBackLevels
{
    /// <summary>The level named <paramref name="text"/> (off, counts, counts+sector); false for anything else.</summary>
    public static bool TryParse(string? text, out SightingsBackLevel level)
    {
        (var ok, level) = text switch
        {
            "off" => (true, SightingsBackLevel.Off),
            "counts" => (true, SightingsBackLevel.Counts),
            "counts+sector" => (true, SightingsBackLevel.CountsAndSector),
            _ => (false, SightingsBackLevel.Off),
        };
        return ok;
    }

    /// <summary>The config name of <paramref name="level"/>.</summary>
    public static string Name(SightingsBackLevel level) => level switch
    {
        SightingsBackLevel.Counts => "counts",
        SightingsBackLevel.CountsAndSector => "counts+sector",
        _ => "off",
    };
}
