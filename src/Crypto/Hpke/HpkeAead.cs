namespace CyberCoop.Crypto;

/// <summary>HPKE AEAD identifiers (RFC 9180 §7.3).</summary>
public enum HpkeAead : ushort
{
    /// <summary>AES-128-GCM (Nk=16, Nn=12, Nt=16).</summary>
    Aes128Gcm = 1,

    /// <summary>AES-256-GCM (Nk=32, Nn=12, Nt=16).</summary>
    Aes256Gcm = 2,
}
