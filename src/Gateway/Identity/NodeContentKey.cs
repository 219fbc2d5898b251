using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Identity;

/// <summary>One of this node's content key pairs (signing or KEM) loaded from its file, with its schedule.</summary>
internal sealed class NodeContentKey : IDisposable
{
    private NodeContentKey(ContentKeyFile file, SigningKeyPair? signing, KemKeyPair? kem)
    {
        File = file;
        Signing = signing;
        Kem = kem;
        PublicKey = signing?.PublicKey ?? kem!.PublicKey;
    }

    /// <summary>The file and its schedule.</summary>
    public ContentKeyFile File { get; }

    /// <summary>The key pair when this is a signing key.</summary>
    public SigningKeyPair? Signing { get; }

    /// <summary>The key pair when this is a KEM key.</summary>
    public KemKeyPair? Kem { get; }

    /// <summary>The public key (and its key id).</summary>
    public ContentPublicKey PublicKey { get; }

    /// <summary>The suite the key belongs to.</summary>
    public Suite Suite => File.Suite;

    /// <summary>Loads the key pair of <paramref name="file"/>; <see cref="CryptoFileException"/> naming the file on any problem.</summary>
    public static NodeContentKey Load(ContentKeyFile file) => file.Kind == ContentKeyKind.Signing
        ? new NodeContentKey(file, SigningKeyPair.Load(file.Path), null)
        : new NodeContentKey(file, null, KemKeyPair.Load(file.Path));

    public void Dispose()
    {
        Signing?.Dispose();
        Kem?.Dispose();
    }
}
