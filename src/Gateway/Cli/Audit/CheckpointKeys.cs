using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Cli.Audit;

/// <summary>
/// The node's content signing keys (current ones in <c>keysDirectory</c>, retired ones under
/// <c>keysDirectory/retired</c> and scheduled ones under <c>keysDirectory/pending</c>), used to verify the signatures of audit checkpoints. A checkpoint is
/// valid when any of them verifies it, so checkpoints signed before a key rotation still verify.
/// </summary>
internal sealed class CheckpointKeys : IDisposable
{
    private readonly List<SigningKeyPair> _keys;

    private CheckpointKeys(string directory, List<SigningKeyPair> keys)
    {
        Directory = directory;
        _keys = keys;
    }

    /// <summary>Where the keys were looked for.</summary>
    public string Directory { get; }

    /// <summary>Number of keys loaded.</summary>
    public int Count => _keys.Count;

    /// <summary>Loads every signing key file; unreadable ones are a failure naming the file.</summary>
    public static CheckpointKeys Load(string keysDirectory)
    {
        var keys = new List<SigningKeyPair>();
        try
        {
            foreach (var file in Files(keysDirectory))
            {
                keys.Add(SigningKeyPair.Load(file));
            }
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            foreach (var key in keys)
            {
                key.Dispose();
            }

            throw new CliException($"cannot read the node's signing keys in '{keysDirectory}': {ex.Message}");
        }

        return new CheckpointKeys(keysDirectory, keys);
    }

    /// <summary>
    /// True when any key verifies <paramref name="signature"/> over <paramref name="message"/> as an audit checkpoint,
    /// with the current construction or, for checkpoints written before protocol v2, the v1 one.
    /// </summary>
    public bool Verify(byte[] message, byte[] signature) =>
        _keys.Any(k => ContentSignatures.Verify(SignaturePurpose.AuditCheckpoint, message, signature, k.PublicKey)
            || ContentSignatures.VerifyLegacyAuditCheckpoint(message, signature, k.PublicKey));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var key in _keys)
        {
            key.Dispose();
        }
    }

    private static IEnumerable<string> Files(string keysDirectory)
    {
        if (!System.IO.Directory.Exists(keysDirectory))
        {
            return [];
        }

        var current = System.IO.Directory.EnumerateFiles(keysDirectory, "signing-*.key");
        var retiredDirectory = Path.Combine(keysDirectory, "retired");
        var retired = System.IO.Directory.Exists(retiredDirectory)
            ? System.IO.Directory.EnumerateFiles(retiredDirectory, "*-signing-*.key")
            : [];

        // A scheduled key signs from its not-before on, before it is moved into place at the next start or reload.
        var pendingDirectory = Path.Combine(keysDirectory, "pending");
        var pending = System.IO.Directory.Exists(pendingDirectory)
            ? System.IO.Directory.EnumerateFiles(pendingDirectory, "*-signing-*.key")
            : [];
        return current.Concat(retired).Concat(pending).Order(StringComparer.Ordinal).ToList();
    }
}
