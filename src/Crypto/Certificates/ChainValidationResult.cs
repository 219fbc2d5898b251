namespace CyberCoop.Crypto;

/// <summary>Outcome of <see cref="ChainValidator.Validate"/>.</summary>
/// <param name="IsValid">Whether the chain was accepted.</param>
/// <param name="Id">The authenticated SPIFFE id when accepted (and the claimed id when it could be parsed).</param>
/// <param name="Rejection">Why it was rejected, or <see cref="ChainRejection.None"/>.</param>
/// <param name="Reason">Human-readable text naming the problem (or "valid").</param>
public sealed record ChainValidationResult(bool IsValid, SpiffeId? Id, ChainRejection Rejection, string Reason)
{
    internal static ChainValidationResult Accept(SpiffeId id) => new(true, id, ChainRejection.None, "valid");

    internal static ChainValidationResult Reject(ChainRejection rejection, string reason, SpiffeId? claimed = null) =>
        new(false, claimed, rejection, reason);
}
