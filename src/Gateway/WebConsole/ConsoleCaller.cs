using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// Who is using the console: the operator's SPIFFE id (or <c>loopback</c> in loopback-only mode), their role, and the
/// actor written to the audit log for what they do (<c>console:&lt;spiffe id&gt;</c>).
/// </summary>
internal sealed record ConsoleCaller(string Id, string Role)
{
    /// <summary>The audit log's actor for this caller's actions.</summary>
    public string Actor => "console:" + Id;

    /// <summary>True when the caller may act (withdraw, suppress), not only read.</summary>
    public bool MayAct => Role == ConsoleRoles.Operator;
}
