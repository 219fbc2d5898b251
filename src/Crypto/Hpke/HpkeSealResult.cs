namespace CyberCoop.Crypto;

/// <summary>Result of a single-shot HPKE seal.</summary>
/// <param name="Enc">The encapsulated key to send with the ciphertext.</param>
/// <param name="Ciphertext">AEAD ciphertext including the 16-byte tag.</param>
internal sealed record HpkeSealResult(byte[] Enc, byte[] Ciphertext);
