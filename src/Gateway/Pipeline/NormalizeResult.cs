namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Outcome of normalizing one observable: either the canonical value or an error
/// that names the field and the problem ("value: '999.1.1.1' is not a valid IPv4 address").
/// </summary>
internal readonly record struct NormalizeResult(bool Ok, string Value, string? Error)
{
    public static NormalizeResult Success(string value) => new(true, value, null);

    public static NormalizeResult Failure(string error) => new(false, string.Empty, error);
}
