namespace CyberCoop.Crypto;

/// <summary>Why a certificate chain was rejected; <see cref="None"/> when it was accepted.</summary>
public enum ChainRejection
{
    /// <summary>Accepted.</summary>
    None,

    /// <summary>No certificate was presented.</summary>
    NoCertificate,

    /// <summary>The leaf has no URI subjectAltName.</summary>
    NoUriSan,

    /// <summary>The leaf has more than one URI subjectAltName.</summary>
    MultipleUriSans,

    /// <summary>The URI SAN is not a <c>spiffe://</c> URI.</summary>
    NotSpiffe,

    /// <summary>The URI SAN is a <c>spiffe://</c> URI that is not a well-formed CyberCoop SPIFFE id.</summary>
    MalformedSpiffeId,

    /// <summary>No anchor is configured for the id's trust domain.</summary>
    UnknownTrustDomain,

    /// <summary>The chain does not end at the configured root of the id's trust domain.</summary>
    UntrustedRoot,

    /// <summary>The chain ends at the root of a different trust domain than the one the id claims.</summary>
    WrongDomainRoot,

    /// <summary>A certificate of the chain is past its notAfter.</summary>
    Expired,

    /// <summary>A certificate of the chain is before its notBefore.</summary>
    NotYetValid,

    /// <summary>The leaf or an intermediate serial is revoked.</summary>
    Revoked,

    /// <summary>The leaf is a CA certificate (basicConstraints cA=true).</summary>
    CertificateAuthorityAsLeaf,

    /// <summary>The leaf's keyUsage lacks digitalSignature, or allows certificate signing.</summary>
    WrongKeyUsage,

    /// <summary>The leaf's extendedKeyUsage lacks serverAuth/clientAuth for the requested purpose.</summary>
    WrongExtendedKeyUsage,

    /// <summary>The workload kind cannot act in the requested purpose (only gateways are servers).</summary>
    WrongWorkloadKind,

    /// <summary>The chain could not be built or a signature in it is invalid.</summary>
    ChainBuildFailed,

    /// <summary>The root reached does not match the pinned SPKI hash.</summary>
    PinMismatch,
}
