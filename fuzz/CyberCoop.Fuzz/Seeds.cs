extern alias gateway;

using System.Globalization;
using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using gateway::CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Fuzz;

/// <summary>
/// Seeds for the targets whose real inputs are made by the code itself (keys, certificates, trust bundles, envelopes,
/// signed bundles) plus the fixtures those targets check against. The parsers' seeds come from the repository's
/// samples (fuzz/fuzz copies them); this writes only what cannot be copied.
/// </summary>
internal static class Seeds
{
    /// <summary>recipient_kem_secret of tests/vectors/envelope-known-answers.txt: the known-answer envelopes open with it.</summary>
    public static byte[] VectorKemSecret => Convert.FromHexString("4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60");

    public static void Write(string root)
    {
        var fixtures = Directory.CreateDirectory(Path.Combine(root, "fixtures")).FullName;
        var now = DateTimeOffset.UtcNow;
        File.WriteAllText(Path.Combine(fixtures, "now.txt"), now.ToString("O", CultureInfo.InvariantCulture));

        using var kem = KemKeyPair.FromX25519PrivateKey(VectorKemSecret);
        using var hybridKem = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        using var signing = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        using var hybridSigning = SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        kem.Save(Path.Combine(fixtures, "kem.key"));
        hybridKem.Save(Path.Combine(fixtures, "kem-hybrid.key"));
        signing.Save(Path.Combine(fixtures, "signing.key"));
        hybridSigning.Save(Path.Combine(fixtures, "signing-hybrid.key"));

        using var ca = CertificateAuthority.CreateRoot(Fixtures.TrustDomainName);
        ca.Save(Path.Combine(fixtures, "root.crt"), Path.Combine(fixtures, "root.key"));

        // pem: a root, a leaf, a chain, private keys (a PEM-loading target reads each as certificates and as a key).
        var pem = Directory.CreateDirectory(Path.Combine(root, "pem")).FullName;
        using var intermediate = ca.CreateIntermediate("issuing");
        using var leaf = intermediate.Issue(SpiffeId.Gateway(Fixtures.TrustDomainName, "tallinn"));
        PemFiles.WriteCertificate(Path.Combine(pem, "root.crt"), ca.Certificate);
        PemFiles.WriteCertificate(Path.Combine(pem, "leaf.crt"), leaf);
        PemFiles.WriteCertificateChain(Path.Combine(pem, "chain.pem"), [leaf, .. intermediate.ChainFor()]);
        PemFiles.WritePrivateKey(Path.Combine(pem, "leaf.key"), leaf);
        File.Copy(Path.Combine(fixtures, "root.key"), Path.Combine(pem, "root.key"), overwrite: true);

        // key-file: the four content key kinds.
        var keys = Directory.CreateDirectory(Path.Combine(root, "key-file")).FullName;
        foreach (var name in new[] { "kem.key", "kem-hybrid.key", "signing.key", "signing-hybrid.key" })
        {
            File.Copy(Path.Combine(fixtures, name), Path.Combine(keys, name), overwrite: true);
        }

        // trust-bundle: one signed by the fixture root (verifies), one with revocations signed by a stranger (does not).
        var bundles = Directory.CreateDirectory(Path.Combine(root, "trust-bundle")).FullName;
        var bundle = TrustBundleSigner.Create(Fixtures.TrustDomainName, 7, [ca.Certificate], [], now, TimeSpan.FromDays(30));
        TrustBundleFile.Write(Path.Combine(bundles, "bundle.pb"), TrustBundleSigner.Sign(bundle, [ca]));
        using var stranger = CertificateAuthority.CreateRoot("fi.cybercoop");
        var revoked = TrustBundleSigner.Create("fi.cybercoop", 2, [stranger.Certificate, ca.Certificate], ["0a1b2c3d", "ff"], now, TimeSpan.FromDays(1));
        TrustBundleFile.Write(Path.Combine(bundles, "revoked.pb"), TrustBundleSigner.Sign(revoked, [stranger, ca]));

        // signed-bundle and envelope: bundles signed by the fixture origin keys, sealed to the fixture KEM keys, plus
        // the published known-answer envelopes (tests/vectors) when the repository is at hand.
        var signedDir = Directory.CreateDirectory(Path.Combine(root, "signed-bundle")).FullName;
        var envelopes = Directory.CreateDirectory(Path.Combine(root, "envelope")).FullName;
        var i = 0;
        foreach (var (signer, recipient) in new[] { (signing, kem), (hybridSigning, hybridKem) })
        {
            var signed = SignedBundleOf(signer, now);
            var plaintext = signed.ToByteArray();
            File.WriteAllBytes(Path.Combine(signedDir, $"signed-{i}.pb"), plaintext);
            var header = new EnvelopeHeader
            {
                Sender = "spiffe://fi.cybercoop/gateway/helsinki",
                Recipient = "spiffe://ee.cybercoop/gateway/tallinn",
                SentAt = Timestamp.FromDateTimeOffset(now),
                HopCount = (uint)i,
            };
            File.WriteAllBytes(Path.Combine(envelopes, $"envelope-{i}.pb"), EnvelopeCrypto.Seal(header, plaintext, recipient.PublicKey).ToByteArray());
            i++;
        }

        var vectors = FindRepositoryFile(Path.Combine("tests", "vectors", "envelope-known-answers.txt"));
        if (vectors is not null)
        {
            var n = 0;
            foreach (var record in KnownAnswers(vectors))
            {
                var envelope = new Envelope
                {
                    Header = ByteString.CopyFrom(Convert.FromHexString(record["header"])),
                    Ciphertext = ByteString.CopyFrom(Convert.FromHexString(record["ciphertext"])),
                };
                File.WriteAllBytes(Path.Combine(envelopes, $"known-answer-{n}.pb"), envelope.ToByteArray());
                File.WriteAllBytes(Path.Combine(signedDir, $"known-answer-{n}.pb"), Convert.FromHexString(record["signed_bundle"]));
                n++;
            }
        }

        // normalize: one value per type, first byte = the type.
        var normalize = Directory.CreateDirectory(Path.Combine(root, "normalize")).FullName;
        (IndicatorType Type, string Value)[] values =
        [
            (IndicatorType.Ipv4, "198.51.100.7"), (IndicatorType.Ipv6, "2001:DB8:0:0::1"), (IndicatorType.Cidr, "203.0.113.0/24"),
            (IndicatorType.Domain, "Bücher.Example."), (IndicatorType.Url, "HTTP://Example.COM:80/a/../b?q=1#f"),
            (IndicatorType.Email, "Alice@Example.ORG"), (IndicatorType.Md5, "D41D8CD98F00B204E9800998ECF8427E"),
            (IndicatorType.Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (IndicatorType.Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (IndicatorType.Ja3, "e7d705a3286e19ea42f587b344ee6865"), (IndicatorType.Ja4, "t13d1516h2_8daaf6152771_02713d6af862"),
            (IndicatorType.Asn, "AS64496"), (IndicatorType.Cve, "cve-2024-3400"),
        ];
        foreach (var (type, value) in values)
        {
            File.WriteAllBytes(Path.Combine(normalize, $"{type}.bin"), [(byte)type, .. Encoding.UTF8.GetBytes(value)]);
        }
    }

    private static SignedBundle SignedBundleOf(SigningKeyPair signer, DateTimeOffset now)
    {
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(new byte[16]),
            Origin = "spiffe://fi.cybercoop/gateway/helsinki",
            FirstRecipient = "spiffe://ee.cybercoop/gateway/tallinn",
            CreatedAt = Timestamp.FromDateTimeOffset(now),
            MaxHops = 2,
            RelayAllowed = true,
        };
        bundle.Indicators.Add(new Indicator { Type = IndicatorType.Ipv4, Value = "198.51.100.7", Tlp = Tlp.Green, Confidence = 80 });
        bundle.Indicators.Add(new Indicator { Type = IndicatorType.Domain, Value = "evil.example", Tlp = Tlp.Amber, Confidence = 60 });
        bundle.Indicators.Add(new Indicator { Type = IndicatorType.Url, Value = "https://evil.example/x?y=1", Tlp = Tlp.Red, Confidence = 90 });
        var bytes = bundle.ToByteArray();
        return new SignedBundle
        {
            Bundle = ByteString.CopyFrom(bytes),
            Suite = signer.Suite,
            SignerKeyId = ByteString.CopyFrom(signer.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Bundle, bytes, signer)),
        };
    }

    private static IEnumerable<Dictionary<string, string>> KnownAnswers(string path)
    {
        var record = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path).Append(string.Empty))
        {
            if (line.Length == 0)
            {
                if (record.ContainsKey("header") && record.ContainsKey("ciphertext") && record.ContainsKey("signed_bundle"))
                {
                    yield return record;
                }

                record = new Dictionary<string, string>(StringComparer.Ordinal);
                continue;
            }

            var eq = line.IndexOf(" = ", StringComparison.Ordinal);
            if (!line.StartsWith('#') && eq > 0)
            {
                record[line[..eq]] = line[(eq + 3)..];
            }
        }
    }

    private static string? FindRepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
