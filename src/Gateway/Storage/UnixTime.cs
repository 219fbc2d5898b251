namespace CyberCoop.Gateway.Storage;

/// <summary>Times are stored as Unix milliseconds (INTEGER) everywhere in the database.</summary>
internal static class UnixTime
{
    public static long ToMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
