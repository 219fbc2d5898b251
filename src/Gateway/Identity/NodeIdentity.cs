using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Identity;

/// <summary>
/// Who this node is: its SPIFFE id, TLS certificate and content keys (signing and KEM key pairs per suite it
/// supports, each with its schedule: pending, active, retired; see <see cref="ContentKeyStore"/>). Content keys are
/// created on first start in the keys folder (0600). The key used to sign is chosen by time at each use, so a
/// scheduled rotation takes effect at its not-before without a restart or timer.
/// </summary>
internal sealed class NodeIdentity : IDisposable
{
    private readonly IReadOnlyList<NodeContentKey> _keys;
    private readonly TimeProvider _time;

    private NodeIdentity(SpiffeId id, X509Certificate2 certificate, X509Certificate2 root, IReadOnlyList<NodeContentKey> keys,
        IReadOnlyList<Suite> suites, string fingerprint, TimeProvider time)
    {
        Id = id;
        Certificate = certificate;
        Root = root;
        _keys = keys;
        Suites = suites;
        Fingerprint = fingerprint;
        _time = time;
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

    /// <summary>Every content key held (pending, active, retired), with its schedule.</summary>
    public IReadOnlyList<NodeContentKey> ContentKeys => _keys;

    /// <summary>
    /// The signing key of a suite in use now: the newest non-retired key whose not-before has passed. Before a scheduled
    /// rotation's not-before this is still the old key; from then on the new one.
    /// </summary>
    public SigningKeyPair SigningKey(Suite suite) => SigningKey(suite, _time.GetUtcNow());

    /// <summary>
    /// The signing key of a suite in use at <paramref name="now"/>; content stamped with a created-at signs with the key
    /// of that instant, so the created-at and the key's window always agree.
    /// </summary>
    public SigningKeyPair SigningKey(Suite suite, DateTimeOffset now)
    {
        NodeContentKey? best = null;
        foreach (var key in _keys)
        {
            if (key.Signing is not null && key.Suite == suite && key.File.Folder != ContentKeyState.Retired && key.File.NotBefore <= now
                && (best is null || key.File.NotBefore >= best.File.NotBefore))
            {
                best = key;
            }
        }

        return best?.Signing ?? throw new InvalidOperationException($"no signing key for suite {suite}");
    }

    /// <summary>When the next pending key becomes active, or null when no rotation is scheduled.</summary>
    public DateTimeOffset? PendingActivation()
    {
        var now = _time.GetUtcNow();
        var next = _keys.Where(k => k.File.Folder == ContentKeyState.Pending && k.File.NotBefore > now).Select(k => (DateTimeOffset?)k.File.NotBefore).Min();
        return next;
    }

    /// <summary>
    /// Own bundles created before this time may be signed with a signing key that is no longer announced (past its
    /// not-after, or withdrawn): they are re-signed before being sent. <see cref="DateTimeOffset.MinValue"/> when none.
    /// </summary>
    public DateTimeOffset ResignBefore()
    {
        var now = _time.GetUtcNow();
        var before = DateTimeOffset.MinValue;
        foreach (var key in _keys)
        {
            if (key.Signing is not null && key.File is { NotAfter: { } notAfter, SupersededAt: { } superseded } && notAfter <= now && superseded > before)
            {
                before = superseded;
            }
        }

        return before;
    }

    /// <summary>True when <paramref name="keyId"/> is one of this node's signing keys still announced (not past its not-after).</summary>
    public bool IsAnnouncedSigningKey(ReadOnlySpan<byte> keyId)
    {
        var now = _time.GetUtcNow();
        foreach (var key in _keys)
        {
            if (key.Signing is not null && (key.File.NotAfter is null || key.File.NotAfter > now)
                && key.PublicKey.HasKeyId(keyId))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The KEM key whose key id matches, whatever its state (active, pending, or retired), or null. Pending keys open
    /// envelopes from senders that switched early, retired ones those from senders that switched late; the caller refuses
    /// a retired key past its not-after.
    /// </summary>
    public NodeContentKey? FindKemKey(ReadOnlySpan<byte> keyId)
    {
        foreach (var key in _keys)
        {
            if (key.Kem is not null && key.PublicKey.HasKeyId(keyId))
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>Loads the TLS identity and content keys, promoting pending keys that are due and creating missing keys.</summary>
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

        var suites = CyberCoop.Crypto.Suites.KeyedBy(node.Suite);
        var keysDirectory = loaded.Resolve(node.KeysDirectory);
        Directory.CreateDirectory(keysDirectory);
        ContentKeyStore.Promote(keysDirectory, time.GetUtcNow());
        foreach (var suite in suites)
        {
            CreateIfMissing(Path.Combine(keysDirectory, ContentKeyStore.ActiveName(ContentKeyKind.Signing, suite)), () => SigningKeyPair.Generate(suite), (k, p) => k.Save(p));
            CreateIfMissing(Path.Combine(keysDirectory, ContentKeyStore.ActiveName(ContentKeyKind.Kem, suite)), () => KemKeyPair.Generate(suite), (k, p) => k.Save(p));
        }

        var grace = TimeSpan.FromSeconds(node.KeyRotation.RetiredGraceSeconds);
        var keys = new List<NodeContentKey>();
        try
        {
            foreach (var file in ContentKeyStore.Scan(keysDirectory, grace))
            {
                keys.Add(NodeContentKey.Load(file));
            }
        }
        catch
        {
            keys.ForEach(k => k.Dispose());
            throw;
        }

        return new NodeIdentity(id, certificate, root, keys, suites, ComputeFingerprint(loaded), time);
    }

    /// <summary>A digest of the TLS files and the key folder listing, to notice rotation on reload.</summary>
    public static string ComputeFingerprint(LoadedConfig loaded)
    {
        var node = loaded.Config.Node;
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var file in new[] { node.Tls.Certificate, node.Tls.Key, node.Tls.Root })
        {
            var path = loaded.Resolve(file);
            if (File.Exists(path))
            {
                AppendFileAndWipe(hash, path);
            }
        }

        var keysDirectory = loaded.Resolve(node.KeysDirectory);
        if (Directory.Exists(keysDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(keysDirectory, "*.key", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(keysDirectory, file)));
                AppendFileAndWipe(hash, file);
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Hashes a file's bytes and clears the copy: the TLS key and content-key files are private keys.</summary>
    private static void AppendFileAndWipe(System.Security.Cryptography.IncrementalHash hash, string path)
    {
        var bytes = File.ReadAllBytes(path);
        try
        {
            hash.AppendData(bytes);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>
    /// Emergency rotation (<c>keys rotate --now</c>): see <see cref="ContentKeyStore.RotateNow"/>. The routine,
    /// announce-ahead rotation is <see cref="ContentKeyStore.Schedule"/>. Returns the new files.
    /// </summary>
    public static IReadOnlyList<string> RotateKeys(string keysDirectory, TimeProvider time) =>
        ContentKeyStore.RotateNow(keysDirectory, time.GetUtcNow());

    private static void CreateIfMissing<T>(string path, Func<T> generate, Action<T, string> save)
        where T : IDisposable
    {
        if (File.Exists(path))
        {
            return;
        }

        using var key = generate();
        save(key, path);
    }

    /// <summary>
    /// Builds this node's key announcement, signed with its TLS identity: the active and pending keys of every suite
    /// (pending ones with their future not-before), plus retired signing keys until their not-after so signatures made
    /// before the rotation still verify. Open-ended not-afters are announced as the certificate's expiry.
    /// </summary>
    public SignedKeyAnnouncement CreateAnnouncement(TimeProvider time)
    {
        var now = time.GetUtcNow();
        var announcement = new KeyAnnouncement
        {
            Node = IdText,
            IssuedAt = Timestamp.FromDateTimeOffset(now),
        };
        announcement.Suites.Add(Suites);
        var certificateNotAfter = new DateTimeOffset(Certificate.NotAfter.ToUniversalTime());
        foreach (var key in _keys.OrderBy(k => k.File.NotBefore))
        {
            if (!Suites.Contains(key.Suite) || (key.File.NotAfter is { } end && end <= now)
                || (key.Kem is not null && key.File.StateAt(now) == ContentKeyState.Retired))
            {
                continue;
            }

            var notAfter = key.File.NotAfter is { } na && na < certificateNotAfter ? na : certificateNotAfter;
            announcement.Keys.Add(new ContentKey
            {
                KeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
                Algorithm = key.PublicKey.Algorithm,
                PublicKey = ByteString.CopyFrom(key.PublicKey.Key.Span),
                NotBefore = Timestamp.FromDateTimeOffset(key.File.NotBefore),
                NotAfter = Timestamp.FromDateTimeOffset(notAfter),
            });
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

    public void Dispose()
    {
        foreach (var key in _keys)
        {
            key.Dispose();
        }

        Certificate.Dispose();
        Root.Dispose();
    }
}
