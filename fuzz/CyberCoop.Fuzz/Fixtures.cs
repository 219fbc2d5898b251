using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;

namespace CyberCoop.Fuzz;

/// <summary>
/// The keys and roots the crypto targets check against: read from <c>CYBERCOOP_FUZZ_FIXTURES</c> (written by
/// <c>seeds</c>, so the generated seeds open and verify and mutations start deep in the path), else made afresh.
/// </summary>
internal sealed class Fixtures
{
    public const string TrustDomainName = "ee.cybercoop";

    public required KemKeyPair Kem { get; init; }

    public required KemKeyPair HybridKem { get; init; }

    public required ContentPublicKey OriginSigning { get; init; }

    public required ContentPublicKey HybridOriginSigning { get; init; }

    public required IReadOnlyCollection<X509Certificate2> Roots { get; init; }

    public string TrustDomain => TrustDomainName;

    /// <summary>The instant the fixtures were made (so the trust-bundle seeds are inside their validity).</summary>
    public required DateTimeOffset Now { get; init; }

    public static Fixtures Load()
    {
        var dir = Environment.GetEnvironmentVariable("CYBERCOOP_FUZZ_FIXTURES");
        if (string.IsNullOrEmpty(dir) || !Directory.Exists(dir))
        {
            using var signing = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
            using var hybridSigning = SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
            using var root = CertificateAuthority.CreateRoot(TrustDomainName);
            return new Fixtures
            {
                Kem = KemKeyPair.FromX25519PrivateKey(Seeds.VectorKemSecret),
                HybridKem = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65),
                OriginSigning = signing.PublicKey,
                HybridOriginSigning = hybridSigning.PublicKey,
                Roots = [CertificateInspector.PublicOnly(root.Certificate)],
                Now = DateTimeOffset.UtcNow,
            };
        }

        using var originSigning = SigningKeyPair.Load(Path.Combine(dir, "signing.key"));
        using var hybridOriginSigning = SigningKeyPair.Load(Path.Combine(dir, "signing-hybrid.key"));
        return new Fixtures
        {
            Kem = KemKeyPair.Load(Path.Combine(dir, "kem.key")),
            HybridKem = KemKeyPair.Load(Path.Combine(dir, "kem-hybrid.key")),
            OriginSigning = originSigning.PublicKey,
            HybridOriginSigning = hybridOriginSigning.PublicKey,
            Roots = [PemFiles.LoadCertificate(Path.Combine(dir, "root.crt"))],
            Now = DateTimeOffset.Parse(File.ReadAllText(Path.Combine(dir, "now.txt")), System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
