using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Hosting;

/// <summary>Config names of the suites ("classic", "hybrid") and their strength order.</summary>
internal static class SuiteNames
{
    /// <summary>The config name of a suite.</summary>
    public static string ToName(Suite suite) => suite switch
    {
        Suite.X25519Aes256GcmEd25519 => "classic",
        Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 => "hybrid",
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "unknown suite"),
    };

    /// <summary>The suite of a config name.</summary>
    public static Suite Parse(string name) => name switch
    {
        "classic" => Suite.X25519Aes256GcmEd25519,
        "hybrid" => Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown suite name"),
    };

    /// <summary>Higher is stronger; unknown suites are 0.</summary>
    public static int Strength(Suite suite) => suite switch
    {
        Suite.X25519Aes256GcmEd25519 => 1,
        Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 => 2,
        _ => 0,
    };
}
