extern alias gateway;

using System.Security.Cryptography;
using System.Text;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Agent.Parsing.Misp;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using gateway::CyberCoop.Gateway.Configuration;
using gateway::CyberCoop.Gateway.Pipeline;
using gateway::CyberCoop.Gateway.Trust;
using CyberCoop.Stix;
using Google.Protobuf;

namespace CyberCoop.Fuzz;

/// <summary>
/// One fuzz target per parser that takes outside bytes. Each target feeds the bytes through the same entry point the
/// agent or gateway uses and lets through only the exceptions that entry point documents as its answer to bad input
/// (the error a user sees); any other exception, a hang or a crash is a finding.
/// </summary>
internal static class FuzzTargets
{
    // Nothing of the instrumented assemblies may run before SharpFuzz has set up afl-fuzz's coverage map (it would
    // write through a null map): everything they construct is made lazily, inside a run.

    /// <summary>A mapping that reaches every optional column of the CSV and JSONL parsers.</summary>
    private static readonly Lazy<FieldMapping> s_mapping = new(() => new FieldMapping
    {
        ValueField = "value",
        TypeField = "type",
        TimestampField = "timestamp",
        ConfidenceField = "confidence",
        TlpField = "tlp",
        TagsField = "tags",
        DescriptionField = "description",
        ValidUntilField = "valid_until",
        ContextFields = ["context"],
    });

    private static readonly Dictionary<string, Action<byte[]>> s_targets = new(StringComparer.Ordinal)
    {
        ["eve"] = bytes => Lines(bytes, SourceFormat.Eve, null),
        ["zeek"] = bytes => Lines(bytes, SourceFormat.Zeek, null),
        ["csv"] = bytes => Lines(bytes, SourceFormat.Csv, s_mapping.Value),
        ["jsonl"] = bytes => Lines(bytes, SourceFormat.Jsonl, s_mapping.Value),
        ["stix-bundle"] = bytes => StixBundleParser.Parse(bytes, NewEmitter()),
        ["stix-pattern"] = StixPatternTarget,
        ["misp-feed"] = bytes => MispFeedParser.Parse(bytes, NewEmitter()),
        ["agent-config"] = AgentConfigTarget,
        ["gateway-config"] = GatewayConfigTarget,
        ["pem"] = PemTarget,
        ["key-file"] = KeyFileTarget,
        ["trust-bundle"] = TrustBundleTarget,
        ["envelope"] = EnvelopeTarget,
        ["signed-bundle"] = SignedBundleTarget,
        ["normalize"] = NormalizeTarget,
    };

    private static readonly Lazy<Fixtures> s_fixtures = new(Fixtures.Load);

    /// <summary>Every target name.</summary>
    public static IReadOnlyCollection<string> Names => s_targets.Keys;

    /// <summary>The target called <paramref name="name"/>.</summary>
    public static Action<byte[]> Find(string name) =>
        s_targets.TryGetValue(name, out var target) ? target : throw new ArgumentException($"unknown target '{name}'; targets: {string.Join(", ", Names)}");

    private static SightingEmitter NewEmitter() =>
        new(new SourceProfile { Sensor = "fuzz" }, new SightingFilter([System.Net.IPNetwork.Parse("192.0.2.0/24")], ["example.org", "198.51.100.0/24"]), new ParseDiagnostics());

    /// <summary>A line-oriented file read the way the agent reads it (UTF-8 check, line splitting, 4 KiB line limit).</summary>
    private static void Lines(byte[] bytes, SourceFormat format, FieldMapping? mapping)
    {
        var emitter = NewEmitter();
        var parser = ParserFactory.CreateLineParser(format, emitter, mapping, format == SourceFormat.Zeek ? "conn.log" : "input");
        using var source = new LineSource(new MemoryStream(bytes, writable: false), parser, emitter.Diagnostics, maxLineBytes: 4096);
        while (source.ReadLines(4096, final: true) > 0)
        {
        }

        foreach (var sighting in emitter.Output)
        {
            // What the agent hands on must fit the wire limits it promises the gateway.
            Check(sighting.Value.Length > 0 && Encoding.UTF8.GetByteCount(sighting.Value) <= SightingEmitter.MaxValueBytes, "sighting value empty or over 2048 bytes");
            Check(sighting.Confidence <= 100, "confidence above 100");
            sighting.CalculateSize();
        }
    }

    private static void StixPatternTarget(byte[] bytes)
    {
        try
        {
            StixPattern.Parse(Encoding.UTF8.GetString(bytes));
        }
        catch (FormatException)
        {
        }
    }

    private static void AgentConfigTarget(byte[] bytes)
    {
        var path = ScratchFile("agent.json", bytes, secret: false);
        try
        {
            AgentConfigLoader.Load(path);
        }
        catch (AgentConfigException ex)
        {
            Check(ex.Message.Length > 0, "agent config error without a message");
        }
    }

    private static void GatewayConfigTarget(byte[] bytes)
    {
        var path = ScratchFile("gateway.json", bytes, secret: false);
        try
        {
            GatewayConfigFile.Load(path);
        }
        catch (GatewayConfigException ex)
        {
            Check(ex.Message.Length > 0, "gateway config error without a message");
        }
    }

    private static void PemTarget(byte[] bytes)
    {
        var path = ScratchFile("file.pem", bytes, secret: true);
        try
        {
            foreach (var cert in PemFiles.LoadCertificates(path))
            {
                _ = SpkiPin.Compute(cert);
                try
                {
                    // The inspectors decode extensions lazily and answer a malformed one with CryptographicException,
                    // which every caller must handle (ChainValidator did not for extendedKeyUsage: fixed, see docs/fuzzing.md).
                    _ = CertificateInspector.UriSans(cert);
                    _ = CertificateInspector.RootTrustDomain(cert);
                    _ = CertificateInspector.ExtendedKeyUsages(cert);
                }
                catch (CryptographicException)
                {
                }

                cert.Dispose();
            }
        }
        catch (CryptoFileException)
        {
        }

        try
        {
            using var key = PemFiles.LoadPrivateKey(path);
        }
        catch (CryptoFileException)
        {
        }
    }

    private static void KeyFileTarget(byte[] bytes)
    {
        var path = ScratchFile("content.key", bytes, secret: true);
        try
        {
            using var signing = SigningKeyPair.Load(path);
            var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, bytes, signing);
            Check(ContentSignatures.Verify(SignaturePurpose.Bundle, bytes, signature, signing.PublicKey), "a loaded signing key does not verify its own signature");
        }
        catch (CryptoFileException)
        {
        }

        try
        {
            using var kem = KemKeyPair.Load(path);
            _ = kem.PublicKey.KeyIdHex;
        }
        catch (CryptoFileException)
        {
        }
    }

    private static void TrustBundleTarget(byte[] bytes)
    {
        var path = ScratchFile(TrustBundleFile.DefaultName, bytes, secret: false);
        SignedTrustBundle signed;
        try
        {
            signed = TrustBundleFile.Read(path);
        }
        catch (InvalidDataException)
        {
            return;
        }

        var fixtures = s_fixtures.Value;
        _ = TrustBundleVerifier.VerifySelfSigned(signed, fixtures.Now, out var selfError, checkExpiry: true);
        var verified = TrustBundleVerifier.Verify(signed, fixtures.TrustDomain, fixtures.Roots, fixtures.Now, out var error);
        Check((verified is null) == (error is not null), "Verify returned neither a bundle nor an error (or both)");
        _ = selfError;
    }

    private static void EnvelopeTarget(byte[] bytes)
    {
        Envelope envelope;
        try
        {
            envelope = Envelope.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return;
        }

        EnvelopeHeader header;
        try
        {
            header = EnvelopeCrypto.ParseHeader(envelope);
        }
        catch (CryptoFormatException)
        {
            return;
        }

        _ = TrustBundleVerifier.IsValidTimestamp(header.SentAt);
        _ = SpiffeId.TryParse(header.Sender, out _, out _);
        var fixtures = s_fixtures.Value;
        var kem = header.Suite == Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 ? fixtures.HybridKem : fixtures.Kem;
        try
        {
            var opened = EnvelopeCrypto.Open(envelope, kem);
            SignedBundleTarget(opened.Plaintext);
        }
        catch (Exception ex) when (ex is CryptographicException or CryptoFormatException)
        {
        }
    }

    /// <summary>The plaintext of an opened envelope: decode, origin and signature checks, every indicator normalised.</summary>
    private static void SignedBundleTarget(byte[] bytes)
    {
        SignedBundle signed;
        Bundle bundle;
        try
        {
            signed = SignedBundle.Parser.ParseFrom(bytes);
            bundle = Bundle.Parser.ParseFrom(signed.Bundle);
        }
        catch (InvalidProtocolBufferException)
        {
            return;
        }

        _ = TrustBundleVerifier.IsValidTimestamp(bundle.CreatedAt);
        _ = SpiffeId.TryParse(bundle.Origin, out _, out _);
        var fixtures = s_fixtures.Value;
        foreach (var key in new[] { fixtures.OriginSigning, fixtures.HybridOriginSigning })
        {
            if (key.HasKeyId(signed.SignerKeyId.Span))
            {
                _ = ContentSignatures.Verify(SignaturePurpose.Bundle, signed.Bundle.Span, signed.Signature.Span, key);
            }
        }

        foreach (var indicator in bundle.Indicators)
        {
            NormalizeOnce(indicator.Type, indicator.Value);
        }
    }

    /// <summary>First byte: the indicator type; the rest: the value as UTF-8. Normalising must be idempotent.</summary>
    private static void NormalizeTarget(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return;
        }

        NormalizeOnce((IndicatorType)(bytes[0] % 16), Encoding.UTF8.GetString(bytes, 1, bytes.Length - 1));
    }

    private static void NormalizeOnce(IndicatorType type, string value)
    {
        var first = IndicatorNormalizer.Normalize(type, value);
        if (!first.Ok)
        {
            Check(!string.IsNullOrEmpty(first.Error), "normalisation failed without an error");
            return;
        }

        var second = IndicatorNormalizer.Normalize(type, first.Value);
        Check(second.Ok && second.Value == first.Value, $"normalisation is not idempotent: {type} '{value}' -> '{first.Value}' -> '{second.Value}' ({second.Error})");
    }

    private static string ScratchFile(string name, byte[] bytes, bool secret)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"cybercoop-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        return path;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzContractException(message);
        }
    }
}
