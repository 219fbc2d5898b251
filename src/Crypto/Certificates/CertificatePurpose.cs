namespace CyberCoop.Crypto;

/// <summary>The TLS role a certificate is being validated for.</summary>
public enum CertificatePurpose
{
    /// <summary>TLS client (requires EKU clientAuth).</summary>
    Client,

    /// <summary>TLS server (requires EKU serverAuth and a gateway identity).</summary>
    Server,
}
