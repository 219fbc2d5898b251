using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>An authenticated, decrypted envelope.</summary>
/// <param name="Header">The parsed header (authenticated as AAD).</param>
/// <param name="Plaintext">The decrypted payload (a serialized SignedBundle).</param>
public sealed record EnvelopeOpenResult(EnvelopeHeader Header, byte[] Plaintext);
