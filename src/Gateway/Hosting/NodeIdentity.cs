using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// Who this node is: its SPIFFE id, TLS certificate and content keys (one signing and one KEM key
/// pair per suite it supports). Content keys are created on first start in the keys folder (0600).
/// </summary>
internal sealed class NodeIdentity : IDisposable
{
    /// <summary>Sub-folder of the keys directory holding retired content keys.</summary>
    public const string RetiredFolder = "retired";

    private readonly Dictionary<Suite, SigningKeyPair> _signing;
    private readonly Dictionary<Suite, KemKeyPair> _kem;
    private readonly List<SigningKeyPair> _retiredSigning;
    private readonly List<KemKeyPair> _retiredKem;

    private NodeIdentity(SpiffeId id, X509Certificate2 certificate, X509Certificate2 root,
        Dictionary<Suite, SigningKeyPair> signing, Dictionary<Suite, KemKeyPair> kem, IReadOnlyList<Suite> suites,
        List<SigningKeyPair> retiredSigning, List<KemKeyPair> retiredKem, string fingerprint)
    {
        Id = id;
        Certificate = certificate;
        Root = root;
        _signing = signing;
        _kem = kem;
        Suites = suites;
        _retiredSigning = retiredSigning;
        _retiredKem = retiredKem;
        Fingerprint = fingerprint;
    }

    /// <summary>Identifies the material loaded (certificate and key files); a reload swaps the identity when it changes.</summary>
    public string Fingerprint { get; }

    /// <summary>This node's SPIFFE id.</summary>
    public SpiffeId Id { get; }

    /// <summary>The id as text.</summary>
    public string IdText => Id.ToString();

    /// <summary>TLS certificate with private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Root of the own trust domain.</summary>
    public X509Certificate2 Root { get; }

    /// <summary>Suites this node supports, strongest first.</summary>
    public IReadOnlyList<Suite> Suites { get; }

    /// <summary>Signing key of a suite.</summary>
    public SigningKeyPair SigningKey(Suite suite) =>
        _signing.TryGetValue(suite, out var key) ? key : throw new InvalidOperationException($"no signing key for suite {suite}");

    /// <summary>KEM key pair whose key id matches, or null.</summary>
    public KemKeyPair? FindKemKey(ReadOnlySpan<byte> keyId)
    {
        // Current keys first, then retired ones: envelopes sealed to a key just rotated out still open.
        foreach (var key in _kem.Values.Concat(_retiredKem))
        {
            if (System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(key.PublicKey.KeyId, keyId))
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>Loads the TLS identity and content keys, creating missing content keys.</summary>
    public static NodeIdentity Load(LoadedConfig loaded, TimeProvider time)
    {
        var node = loaded.Config.Node;
        var id = SpiffeId.Gateway(node.TrustDomain, node.Name);
        var certificate = PemFiles.LoadCertificateWithKey(loaded.Resolve(node.Tls.Certificate), loaded.Resolve(node.Tls.Key));
        var root = PemFiles.LoadCertificate(loaded.Resolve(node.Tls.Root));

        // The own domain's roots and revocations come from its root-signed trust bundle (old and new root during a rotation).
        var own = Trust.OwnTrustBundle.Load(loaded, time);
        var validator = ChainValidator.WithDomainRevocations(
            own.Roots.Select(r => new TrustAnchor(node.TrustDomain, r, SpkiPin.Compute(r))),
            new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal) { [node.TrustDomain] = own.RevokedSerials },
            time);
        var check = validator.Validate(certificate, null, CertificatePurpose.Server);
        if (!check.IsValid)
        {
            throw new GatewayConfigException(loaded.Path, [$"node.tls.certificate: {check.Reason}"]);
        }

        if (check.Id != id)
        {
            throw new GatewayConfigException(loaded.Path,
                [$"node.tls.certificate: certificate is for '{check.Id}', but node.trustDomain/node.name say '{id}'"]);
        }

        var suites = node.Suite == "hybrid"
            ? new[] { Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, Suite.X25519Aes256GcmEd25519 }
            : new[] { Suite.X25519Aes256GcmEd25519 };
        var keysDirectory = loaded.Resolve(node.KeysDirectory);
        Directory.CreateDirectory(keysDirectory);
        var signing = new Dictionary<Suite, SigningKeyPair>();
        var kem = new Dictionary<Suite, KemKeyPair>();
        foreach (var suite in suites)
        {
            var tag = SuiteNames.ToName(suite);
            signing[suite] = LoadOrCreate(Path.Combine(keysDirectory, $"signing-{tag}.key"), () => SigningKeyPair.Generate(suite), SigningKeyPair.Load, (k, p) => k.Save(p));
            kem[suite] = LoadOrCreate(Path.Combine(keysDirectory, $"kem-{tag}.key"), () => KemKeyPair.Generate(suite), KemKeyPair.Load, (k, p) => k.Save(p));
        }

        var retiredDirectory = Path.Combine(keysDirectory, RetiredFolder);
        var retiredSigning = new List<SigningKeyPair>();
        var retiredKem = new List<KemKeyPair>();
        if (Directory.Exists(retiredDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(retiredDirectory, "*.key").Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file);
                if (name.Contains("-signing-", StringComparison.Ordinal))
                {
                    retiredSigning.Add(SigningKeyPair.Load(file));
                }
                else if (name.Contains("-kem-", StringComparison.Ordinal))
                {
                    retiredKem.Add(KemKeyPair.Load(file));
                }
            }
        }

        return new NodeIdentity(id, certificate, root, signing, kem, suites, retiredSigning, retiredKem, ComputeFingerprint(loaded));
    }

    /// <summary>A digest of the TLS files and the key folder listing, to notice rotation on reload.</summary>
    public static string ComputeFingerprint(LoadedConfig loaded)
    {
        var node = loaded.Config.Node;
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var file in new[] { node.Tls.Certificate, node.Tls.Key, node.Tls.Root })
        {
            var path = loaded.Resolve(file);
            hash.AppendData(File.Exists(path) ? File.ReadAllBytes(path) : []);
        }

        var keysDirectory = loaded.Resolve(node.KeysDirectory);
        if (Directory.Exists(keysDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(keysDirectory, "*.key", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(keysDirectory, file)));
                hash.AppendData(File.ReadAllBytes(file));
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Rotates the content keys in <paramref name="keysDirectory"/>: the current key files move to
    /// <c>retired/</c> (still used to open envelopes sealed to them, and announced so old signatures
    /// verify), fresh keys take their place. Returns the new files.
    /// </summary>
    public static IReadOnlyList<string> RotateKeys(string keysDirectory, TimeProvider time)
    {
        var retired = Path.Combine(keysDirectory, RetiredFolder);
        Directory.CreateDirectory(retired);
        var stamp = time.GetUtcNow().ToString("yyyyMMddTHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
        var written = new List<string>();
        foreach (var suite in new[] { Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 })
        {
            var tag = SuiteNames.ToName(suite);
            var signing = Path.Combine(keysDirectory, $"signing-{tag}.key");
            var kem = Path.Combine(keysDirectory, $"kem-{tag}.key");
            if (!File.Exists(signing) && !File.Exists(kem))
            {
                continue;
            }

            if (File.Exists(signing))
            {
                File.Move(signing, Path.Combine(retired, $"{stamp}-signing-{tag}.key"));
            }

            if (File.Exists(kem))
            {
                File.Move(kem, Path.Combine(retired, $"{stamp}-kem-{tag}.key"));
            }

            using (var key = SigningKeyPair.Generate(suite))
            {
                key.Save(signing);
            }

            using (var key = KemKeyPair.Generate(suite))
            {
                key.Save(kem);
            }

            written.Add(signing);
            written.Add(kem);
        }

        return written;
    }

    private static T LoadOrCreate<T>(string path, Func<T> generate, Func<string, T> load, Action<T, string> save)
    {
        if (File.Exists(path))
        {
            return load(path);
        }

        var key = generate();
        save(key, path);
        return key;
    }

    /// <summary>Builds this node's key announcement, signed with its TLS identity.</summary>
    public SignedKeyAnnouncement CreateAnnouncement(TimeProvider time)
    {
        var now = time.GetUtcNow();
        var announcement = new KeyAnnouncement
        {
            Node = IdText,
            IssuedAt = Timestamp.FromDateTimeOffset(now),
        };
        announcement.Suites.Add(Suites);
        // Retired keys first, current keys last: senders use the last key of each algorithm.
        foreach (var key in _retiredSigning)
        {
            announcement.Keys.Add(ToContentKey(key.PublicKey, now));
        }

        foreach (var key in _retiredKem)
        {
            announcement.Keys.Add(ToContentKey(key.PublicKey, now));
        }

        foreach (var suite in Suites)
        {
            announcement.Keys.Add(ToContentKey(_signing[suite].PublicKey, now));
            announcement.Keys.Add(ToContentKey(_kem[suite].PublicKey, now));
        }

        var bytes = announcement.ToByteArray();
        var signed = new SignedKeyAnnouncement
        {
            Announcement = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(IdentitySignatures.Sign(SignaturePurpose.KeyAnnouncement, bytes, Certificate)),
        };
        signed.CertificateChain.Add(ByteString.CopyFrom(Certificate.RawData));
        return signed;
    }

    private ContentKey ToContentKey(ContentPublicKey key, DateTimeOffset now) => new()
    {
        KeyId = ByteString.CopyFrom(key.KeyId),
        Algorithm = key.Algorithm,
        PublicKey = ByteString.CopyFrom(key.Key.Span),
        NotBefore = Timestamp.FromDateTimeOffset(now.AddMinutes(-5)),
        NotAfter = Timestamp.FromDateTimeOffset(Certificate.NotAfter.ToUniversalTime()),
    };

    public void Dispose()
    {
        foreach (var key in _signing.Values)
        {
            key.Dispose();
        }

        foreach (var key in _kem.Values)
        {
            key.Dispose();
        }

        _retiredSigning.ForEach(k => k.Dispose());
        _retiredKem.ForEach(k => k.Dispose());

        Certificate.Dispose();
        Root.Dispose();
    }
}
