namespace CyberCoop.Gateway.Storage;

/// <summary>The configured store cannot be used (PostgreSQL unreachable, login refused, schema too new): one clear message.</summary>
internal sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
