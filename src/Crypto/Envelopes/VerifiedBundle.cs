using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>A bundle whose origin signature verified (<see cref="BundleProtection.Verify"/>); only such a bundle is applied or relayed.</summary>
public sealed class VerifiedBundle
{
    internal VerifiedBundle(SignedBundle signed, Bundle bundle)
    {
        Signed = signed;
        Bundle = bundle;
    }

    /// <summary>The signed bundle (forwarded unchanged when relayed: only its origin can sign it).</summary>
    public SignedBundle Signed { get; }

    /// <summary>The verified content.</summary>
    public Bundle Bundle { get; }
}
