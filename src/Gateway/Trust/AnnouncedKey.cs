using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// A content public key another node announced, with the window in which it may be used: senders use the newest key
/// whose window holds now; a signature verifies with a key whose window held at the bundle's creation (both allowing
/// the configured clock skew).
/// </summary>
/// <param name="Key">The public key.</param>
/// <param name="NotBefore">Not used before this time (<see cref="DateTimeOffset.MinValue"/> when not announced).</param>
/// <param name="NotAfter">Not used after this time (<see cref="DateTimeOffset.MaxValue"/> when not announced).</param>
internal sealed record AnnouncedKey(ContentPublicKey Key, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    /// <summary>The key of an announcement entry; <see cref="KeyFormatException"/> when its bytes are not a valid key.</summary>
    public static AnnouncedKey FromProto(ContentKey key) => new(
        ContentPublicKey.FromProto(key),
        key.NotBefore?.ToDateTimeOffset() ?? DateTimeOffset.MinValue,
        key.NotAfter?.ToDateTimeOffset() ?? DateTimeOffset.MaxValue);

    /// <summary>True when a sender may seal to (or sign with) this key at <paramref name="now"/>: not-before reached (up to <paramref name="skew"/> early) and not-after not reached.</summary>
    public bool UsableAt(DateTimeOffset now, TimeSpan skew) => NotBefore <= Add(now, skew) && now < NotAfter;

    /// <summary>True when the key was valid at <paramref name="time"/>, allowing <paramref name="skew"/> on both ends.</summary>
    public bool ValidAt(DateTimeOffset time, TimeSpan skew) => NotBefore <= Add(time, skew) && Add(time, -skew) < NotAfter;

    private static DateTimeOffset Add(DateTimeOffset time, TimeSpan span) =>
        span > TimeSpan.Zero && time > DateTimeOffset.MaxValue - span ? DateTimeOffset.MaxValue
        : span < TimeSpan.Zero && time < DateTimeOffset.MinValue - span ? DateTimeOffset.MinValue
        : time + span;
}
