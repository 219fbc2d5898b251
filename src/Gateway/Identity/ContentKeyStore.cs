using System.Globalization;
using System.Text.RegularExpressions;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Identity;

/// <summary>Whether a content key signs or is a KEM (encryption) key.</summary>
internal enum ContentKeyKind
{
    /// <summary>Signs bundles, receipts and audit checkpoints.</summary>
    Signing,

    /// <summary>Peers seal envelopes to it.</summary>
    Kem,
}

/// <summary>Where a content key is in its life.</summary>
internal enum ContentKeyState
{
    /// <summary>Announced, not yet used by this node or its peers (before its not-before).</summary>
    Pending,

    /// <summary>The key in use.</summary>
    Active,

    /// <summary>Superseded: still opens and verifies until its not-after (the grace period), never used for new content.</summary>
    Retired,
}

/// <summary>One content key file and its schedule, as <see cref="ContentKeyStore.Scan"/> reads it from the keys folder.</summary>
/// <param name="Path">The key file.</param>
/// <param name="Kind">Signing or KEM.</param>
/// <param name="Suite">The suite the key belongs to.</param>
/// <param name="Folder">Where the file lies: pending/, the keys folder itself (active), or retired/.</param>
/// <param name="NotBefore">When the key became (or becomes) the one in use.</param>
/// <param name="NotAfter">When it stops being usable (retired keys: superseded + grace; withdrawn keys: superseded); null while open-ended.</param>
/// <param name="Withdrawn">Retired by <c>keys rotate --now</c> (suspected compromise): no grace.</param>
internal sealed record ContentKeyFile(string Path, ContentKeyKind Kind, Suite Suite, ContentKeyState Folder, DateTimeOffset NotBefore, DateTimeOffset? NotAfter, bool Withdrawn)
{
    /// <summary>The state at <paramref name="now"/>: a pending key whose time has come is active, an active one with an active successor is retired.</summary>
    public ContentKeyState StateAt(DateTimeOffset now) => Folder switch
    {
        ContentKeyState.Pending => NotBefore <= now ? ContentKeyState.Active : ContentKeyState.Pending,
        ContentKeyState.Active => SupersededAt is { } at && at <= now ? ContentKeyState.Retired : ContentKeyState.Active,
        _ => ContentKeyState.Retired,
    };

    /// <summary>When a successor takes over (active key with a pending successor, or retired key); null otherwise.</summary>
    public DateTimeOffset? SupersededAt { get; init; }
}

/// <summary>
/// The content keys on disk. Layout of the keys folder (every file 0600, written atomically):
/// <list type="bullet">
/// <item><c>signing-&lt;suite&gt;.key</c>, <c>kem-&lt;suite&gt;.key</c>: the active keys;</item>
/// <item><c>pending/&lt;not-before&gt;-signing-&lt;suite&gt;.key</c> (and <c>kem-</c>): announced keys that become active at
/// the UTC time in their name (<c>yyyyMMddTHHmmssfffZ</c>), so a restart keeps the schedule;</item>
/// <item><c>retired/&lt;superseded-at&gt;-signing-&lt;suite&gt;[-withdrawn].key</c>: keys replaced at that time; usable for
/// opening and verifying until superseded-at + the grace period (no grace when withdrawn by <c>keys rotate --now</c>).</item>
/// </list>
/// A pending key whose time has come is moved into place by <see cref="Promote"/> (at start, at a reload that finds
/// changed key files, and by <c>keys rotate</c>); until then the running node already selects it by time. Retired signing keys are kept for good (audit checkpoints they signed
/// must still verify); retired KEM private keys are destroyed by <see cref="PurgeExpiredKem"/> after their grace.
/// </summary>
internal static partial class ContentKeyStore
{
    /// <summary>Sub-folder of scheduled keys.</summary>
    public const string PendingFolder = "pending";

    /// <summary>Sub-folder of superseded keys.</summary>
    public const string RetiredFolder = "retired";

    private const string StampFormat = "yyyyMMdd'T'HHmmssfff'Z'";
    private static readonly string[] s_stampFormats = [StampFormat, "yyyyMMdd'T'HHmmssfff", "yyyyMMdd'T'HHmmss'Z'", "yyyyMMdd'T'HHmmss"];
    private static readonly Suite[] s_suites = [.. Suites.Supported.Reverse()];

    /// <summary>File name of an active key.</summary>
    public static string ActiveName(ContentKeyKind kind, Suite suite) => $"{KindName(kind)}-{Suites.Name(suite)}.key";

    /// <summary>A time as used in key file names.</summary>
    public static string Stamp(DateTimeOffset time) => time.UtcDateTime.ToString(StampFormat, CultureInfo.InvariantCulture);

    /// <summary>Every key file in <paramref name="keysDirectory"/> with its schedule (files with other names are ignored).</summary>
    public static IReadOnlyList<ContentKeyFile> Scan(string keysDirectory, TimeSpan grace)
    {
        var result = new List<ContentKeyFile>();
        foreach (var suite in s_suites)
        {
            foreach (var kind in new[] { ContentKeyKind.Signing, ContentKeyKind.Kem })
            {
                var retired = Stamped(Path.Combine(keysDirectory, RetiredFolder), kind, suite);
                var pending = Stamped(Path.Combine(keysDirectory, PendingFolder), kind, suite);

                // A key's not-before is when its predecessor was superseded (unknown for the first key: the epoch).
                var previous = DateTimeOffset.UnixEpoch;
                foreach (var (path, at, withdrawn) in retired)
                {
                    result.Add(new ContentKeyFile(path, kind, suite, ContentKeyState.Retired, previous, withdrawn ? at : at + grace, withdrawn) { SupersededAt = at });
                    previous = at;
                }

                var active = Path.Combine(keysDirectory, ActiveName(kind, suite));
                if (File.Exists(active))
                {
                    DateTimeOffset? next = pending.Count > 0 ? pending[0].At : null;
                    result.Add(new ContentKeyFile(active, kind, suite, ContentKeyState.Active, previous, next + grace, false) { SupersededAt = next });
                }

                for (var i = 0; i < pending.Count; i++)
                {
                    DateTimeOffset? next = i + 1 < pending.Count ? pending[i + 1].At : null;
                    result.Add(new ContentKeyFile(pending[i].Path, kind, suite, ContentKeyState.Pending, pending[i].At, next + grace, false) { SupersededAt = next });
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Moves pending keys whose not-before has passed into place, the keys they replace into <c>retired/</c> stamped
    /// with that not-before. Safe to repeat after a crash half-way (a missing active key is simply replaced). Returns
    /// the keys promoted.
    /// </summary>
    public static IReadOnlyList<string> Promote(string keysDirectory, DateTimeOffset now)
    {
        var promoted = new List<string>();
        foreach (var suite in s_suites)
        {
            foreach (var kind in new[] { ContentKeyKind.Signing, ContentKeyKind.Kem })
            {
                foreach (var (path, at, _) in Stamped(Path.Combine(keysDirectory, PendingFolder), kind, suite))
                {
                    if (at > now)
                    {
                        break;
                    }

                    var active = Path.Combine(keysDirectory, ActiveName(kind, suite));
                    if (File.Exists(active))
                    {
                        var retired = Path.Combine(keysDirectory, RetiredFolder);
                        Directory.CreateDirectory(retired);
                        File.Move(active, FreeName(Path.Combine(retired, $"{Stamp(at)}-{KindName(kind)}-{Suites.Name(suite)}.key")));
                    }

                    File.Move(path, active);
                    promoted.Add(active);
                }
            }
        }

        return promoted;
    }

    /// <summary>
    /// Schedules a rotation: fresh key pairs for every suite that has active keys, written to <c>pending/</c> to become
    /// active at <paramref name="activation"/>. Refused while a rotation is already scheduled. Returns the new files.
    /// </summary>
    public static IReadOnlyList<string> Schedule(string keysDirectory, DateTimeOffset now, DateTimeOffset activation)
    {
        if (activation <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "a scheduled rotation must activate in the future");
        }

        Promote(keysDirectory, now);
        var pendingDirectory = Path.Combine(keysDirectory, PendingFolder);
        var scheduled = s_suites
            .SelectMany(s => new[] { ContentKeyKind.Signing, ContentKeyKind.Kem }.SelectMany(k => Stamped(pendingDirectory, k, s)))
            .Select(p => p.At)
            .ToList();
        if (scheduled.Count > 0)
        {
            throw new InvalidOperationException(
                $"a rotation is already scheduled: new keys become active at {scheduled.Min():u}; wait for it, or use --now to replace every key at once");
        }

        Directory.CreateDirectory(pendingDirectory);
        var written = new List<string>();
        foreach (var suite in s_suites)
        {
            if (!File.Exists(Path.Combine(keysDirectory, ActiveName(ContentKeyKind.Signing, suite)))
                && !File.Exists(Path.Combine(keysDirectory, ActiveName(ContentKeyKind.Kem, suite))))
            {
                continue;
            }

            var tag = Suites.Name(suite);
            var signing = Path.Combine(pendingDirectory, $"{Stamp(activation)}-signing-{tag}.key");
            var kem = Path.Combine(pendingDirectory, $"{Stamp(activation)}-kem-{tag}.key");
            WriteFreshPair(suite, signing, kem, written);
        }

        return written;
    }

    /// <summary>
    /// The emergency path (suspected compromise): every active key moves to <c>retired/</c> marked withdrawn (no grace:
    /// peers stop trusting its signatures at once), pending keys are destroyed (they lay in the same folder), and fresh
    /// keys become active immediately. Returns the new files.
    /// </summary>
    public static IReadOnlyList<string> RotateNow(string keysDirectory, DateTimeOffset now)
    {
        Promote(keysDirectory, now);
        var retired = Path.Combine(keysDirectory, RetiredFolder);
        Directory.CreateDirectory(retired);
        var written = new List<string>();
        foreach (var suite in s_suites)
        {
            var tag = Suites.Name(suite);
            var signing = Path.Combine(keysDirectory, ActiveName(ContentKeyKind.Signing, suite));
            var kem = Path.Combine(keysDirectory, ActiveName(ContentKeyKind.Kem, suite));
            if (!File.Exists(signing) && !File.Exists(kem))
            {
                continue;
            }

            foreach (var (path, _, _) in new[] { ContentKeyKind.Signing, ContentKeyKind.Kem }.SelectMany(k => Stamped(Path.Combine(keysDirectory, PendingFolder), k, suite)))
            {
                File.Delete(path);
            }

            if (File.Exists(signing))
            {
                File.Move(signing, FreeName(Path.Combine(retired, $"{Stamp(now)}-signing-{tag}-withdrawn.key")));
            }

            if (File.Exists(kem))
            {
                File.Move(kem, FreeName(Path.Combine(retired, $"{Stamp(now)}-kem-{tag}-withdrawn.key")));
            }

            WriteFreshPair(suite, signing, kem, written);
        }

        return written;
    }

    /// <summary>Generates a signing and a KEM key pair of <paramref name="suite"/>, writes them (0600, atomic) and records the paths.</summary>
    private static void WriteFreshPair(Suite suite, string signingPath, string kemPath, List<string> written)
    {
        using (var key = SigningKeyPair.Generate(suite))
        {
            key.Save(signingPath);
        }

        using (var key = KemKeyPair.Generate(suite))
        {
            key.Save(kemPath);
        }

        written.Add(signingPath);
        written.Add(kemPath);
    }

    /// <summary>
    /// Deletes retired KEM key files whose not-after lies more than <paramref name="skew"/> in the past: nothing may be
    /// sealed to them any more, and destroying them keeps recorded traffic sealed to them unreadable even if this node
    /// is compromised later. Retired signing keys are kept (old audit checkpoints verify with them). Returns the files deleted.
    /// </summary>
    public static IReadOnlyList<string> PurgeExpiredKem(string keysDirectory, DateTimeOffset now, TimeSpan grace, TimeSpan skew)
    {
        var deleted = new List<string>();
        foreach (var key in Scan(keysDirectory, grace))
        {
            if (key is { Kind: ContentKeyKind.Kem, Folder: ContentKeyState.Retired, NotAfter: { } notAfter } && notAfter + skew < now)
            {
                File.Delete(key.Path);
                deleted.Add(key.Path);
            }
        }

        return deleted;
    }

    private static string KindName(ContentKeyKind kind) => kind == ContentKeyKind.Signing ? "signing" : "kem";

    /// <summary>Files named <c>&lt;stamp&gt;-&lt;kind&gt;-&lt;suite&gt;[-withdrawn].key</c> in a folder, oldest first.</summary>
    private static List<(string Path, DateTimeOffset At, bool Withdrawn)> Stamped(string directory, ContentKeyKind kind, Suite suite)
    {
        var result = new List<(string, DateTimeOffset, bool)>();
        if (!Directory.Exists(directory))
        {
            return result;
        }

        foreach (var path in Directory.EnumerateFiles(directory, "*.key"))
        {
            var match = StampedName().Match(Path.GetFileName(path));
            if (!match.Success || match.Groups["kind"].Value != KindName(kind) || match.Groups["suite"].Value != Suites.Name(suite)
                || !DateTimeOffset.TryParseExact(match.Groups["stamp"].Value, s_stampFormats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            {
                continue;
            }

            result.Add((path, at, match.Groups["withdrawn"].Success));
        }

        result.Sort((a, b) => a.Item2 != b.Item2 ? a.Item2.CompareTo(b.Item2) : string.CompareOrdinal(a.Item1, b.Item1));
        return result;
    }

    /// <summary><paramref name="path"/>, or the same name with a counter when it is taken (never overwrite a key).</summary>
    private static string FreeName(string path)
    {
        var candidate = path;
        for (var i = 1; File.Exists(candidate); i++)
        {
            candidate = Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}.{i}.key");
        }

        return candidate;
    }

    [GeneratedRegex(@"^(?<stamp>[0-9]{8}T[0-9]{6}(?:[0-9]{3})?Z?)-(?<kind>signing|kem)-(?<suite>[a-z]+)(?<withdrawn>-withdrawn)?(?:\.[0-9]+)?\.key$", RegexOptions.CultureInvariant)]
    private static partial Regex StampedName();
}
