using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>What each <see cref="Suite"/> selects: signature and KEM key algorithms, HPKE ids.</summary>
public static class Suites
{
    /// <summary>Suites this implementation supports, strongest first.</summary>
    public static IReadOnlyList<Suite> Supported { get; } = [Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, Suite.X25519Aes256GcmEd25519];

    /// <summary>Whether <paramref name="suite"/> is a suite this implementation knows.</summary>
    public static bool IsSupported(Suite suite) => suite is Suite.X25519Aes256GcmEd25519 or Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;

    /// <summary>Signature key algorithm of a suite.</summary>
    public static KeyAlgorithm SigningAlgorithm(Suite suite) => suite switch
    {
        Suite.X25519Aes256GcmEd25519 => KeyAlgorithm.Ed25519,
        Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 => KeyAlgorithm.Ed25519Mldsa65,
        _ => throw UnknownSuite(suite),
    };

    /// <summary>KEM key algorithm of a suite.</summary>
    public static KeyAlgorithm KemAlgorithm(Suite suite) => suite switch
    {
        Suite.X25519Aes256GcmEd25519 => KeyAlgorithm.X25519,
        Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 => KeyAlgorithm.X25519Mlkem768,
        _ => throw UnknownSuite(suite),
    };

    /// <summary>The suite a content key algorithm belongs to.</summary>
    public static Suite ForAlgorithm(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.Ed25519 or KeyAlgorithm.X25519 => Suite.X25519Aes256GcmEd25519,
        KeyAlgorithm.Ed25519Mldsa65 or KeyAlgorithm.X25519Mlkem768 => Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65,
        _ => throw new KeyFormatException($"unknown key algorithm {(int)algorithm}"),
    };

    internal static KeyFormatException UnknownSuite(Suite suite) => new($"unknown or unsupported suite {(int)suite}");
}
