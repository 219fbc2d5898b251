using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>
/// The suite table: everything a <see cref="Suite"/> selects (its config name, strength order, signature and KEM key
/// algorithms, the HPKE info string and encapsulated-key length), in one place. Every other part of the system asks
/// here instead of switching on suites itself.
/// </summary>
public static class Suites
{
    private static readonly SuiteInfo[] s_table =
    [
        new(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, "hybrid", 2, KeyAlgorithm.Ed25519Mldsa65, KeyAlgorithm.X25519Mlkem768,
            EnvelopeCrypto.InfoHybrid, HybridKemX25519MlKem768.EncLength),
        new(Suite.X25519Aes256GcmEd25519, "classic", 1, KeyAlgorithm.Ed25519, KeyAlgorithm.X25519,
            EnvelopeCrypto.InfoClassical, DhKemX25519.EncLength),
    ];

    /// <summary>Suites this implementation supports, strongest first.</summary>
    public static IReadOnlyList<Suite> Supported { get; } = [.. s_table.Select(s => s.Suite)];

    /// <summary>Whether <paramref name="suite"/> is a suite this implementation knows.</summary>
    public static bool IsSupported(Suite suite) => Find(suite) is not null;

    /// <summary>Signature key algorithm of a suite.</summary>
    public static KeyAlgorithm SigningAlgorithm(Suite suite) => Get(suite).Signing;

    /// <summary>KEM key algorithm of a suite.</summary>
    public static KeyAlgorithm KemAlgorithm(Suite suite) => Get(suite).Kem;

    /// <summary>The suite a content key algorithm (signing or KEM) belongs to.</summary>
    public static Suite ForAlgorithm(KeyAlgorithm algorithm) =>
        Array.Find(s_table, s => s.Signing == algorithm || s.Kem == algorithm)?.Suite
        ?? throw new KeyFormatException($"unknown key algorithm {(int)algorithm}");

    /// <summary>The suite whose signatures <paramref name="algorithm"/> makes, or <see cref="Suite.Unspecified"/> when it is not a signing algorithm.</summary>
    public static Suite SignedWith(KeyAlgorithm algorithm) => Array.Find(s_table, s => s.Signing == algorithm)?.Suite ?? Suite.Unspecified;

    /// <summary>The config name of a suite ("classic", "hybrid").</summary>
    public static string Name(Suite suite) => Get(suite).Name;

    /// <summary>The suite of a config name; throws <see cref="ArgumentOutOfRangeException"/> for an unknown name.</summary>
    public static Suite Parse(string name) => Array.Find(s_table, s => s.Name == name)?.Suite
        ?? throw new ArgumentOutOfRangeException(nameof(name), name, "unknown suite name (classic or hybrid)");

    /// <summary>Higher is stronger; unknown suites are 0.</summary>
    public static int Strength(Suite suite) => Find(suite)?.Strength ?? 0;

    /// <summary>The suites a node of config suite <paramref name="name"/> keys for, strongest first (hybrid nodes also keep classic keys).</summary>
    public static IReadOnlyList<Suite> KeyedBy(string name) => Parse(name) == Suite.X25519Aes256GcmEd25519 ? [Suite.X25519Aes256GcmEd25519] : Supported;

    /// <summary>HPKE info bytes of a suite.</summary>
    internal static ReadOnlySpan<byte> HpkeInfo(Suite suite) => Get(suite).HpkeInfoBytes;

    /// <summary>Length of the encapsulated key of a suite.</summary>
    internal static int EncapsulatedKeyLength(Suite suite) => Get(suite).EncLength;

    internal static KeyFormatException UnknownSuite(Suite suite) => new($"unknown or unsupported suite {(int)suite}");

    private static SuiteInfo? Find(Suite suite) => Array.Find(s_table, s => s.Suite == suite);

    private static SuiteInfo Get(Suite suite) => Find(suite) ?? throw UnknownSuite(suite);

    private sealed record SuiteInfo(Suite Suite, string Name, int Strength, KeyAlgorithm Signing, KeyAlgorithm Kem, string HpkeInfo, int EncLength)
    {
        public byte[] HpkeInfoBytes { get; } = System.Text.Encoding.ASCII.GetBytes(HpkeInfo);
    }
}
