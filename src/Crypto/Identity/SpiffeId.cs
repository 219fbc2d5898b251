using System.Diagnostics.CodeAnalysis;

namespace CyberCoop.Crypto;

/// <summary>
/// A CyberCoop workload identity: <c>spiffe://&lt;trust-domain&gt;/&lt;gateway|agent|operator|analyst&gt;/&lt;name&gt;</c>.
/// Construct through <see cref="Parse"/>, <see cref="TryParse"/> or the factories, which validate;
/// the positional constructor does not.
/// </summary>
/// <param name="TrustDomain">Lower-case trust domain, e.g. <c>ee.cybercoop</c>.</param>
/// <param name="Kind">Workload kind (first path segment).</param>
/// <param name="Name">Workload name (second path segment), 1-128 characters of <c>[A-Za-z0-9-._]</c>.</param>
public readonly record struct SpiffeId(string TrustDomain, WorkloadKind Kind, string Name)
{
    /// <summary>The URI scheme prefix.</summary>
    public const string Prefix = "spiffe://";

    /// <summary>Maximum length of a whole id (SPIFFE-ID §2.3).</summary>
    public const int MaxLength = 2048;

    /// <summary>Maximum length of the workload name.</summary>
    public const int MaxNameLength = 128;

    /// <summary>Parses and validates an id; throws <see cref="FormatException"/> naming the problem.</summary>
    public static SpiffeId Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!TryParse(value, out var id, out var error))
        {
            throw new FormatException($"invalid SPIFFE id '{Truncate(value)}': {error}");
        }

        return id;
    }

    /// <summary>Parses and validates an id without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        if (string.IsNullOrEmpty(value))
        {
            error = "value is empty";
            return false;
        }

        if (value.Length > MaxLength)
        {
            error = $"longer than {MaxLength} characters";
            return false;
        }

        if (!value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = value.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
                ? "scheme must be lower-case 'spiffe'"
                : "must start with 'spiffe://'";
            return false;
        }

        var rest = value.AsSpan(Prefix.Length);
        var query = rest.IndexOf('?');
        if (query >= 0)
        {
            error = "query ('?') is not allowed";
            return false;
        }

        var fragment = rest.IndexOf('#');
        if (fragment >= 0)
        {
            error = "fragment ('#') is not allowed";
            return false;
        }

        var slash = rest.IndexOf('/');
        if (slash < 0)
        {
            error = "path is missing; expected /gateway|agent|operator|analyst/<name>";
            return false;
        }

        var domain = rest[..slash].ToString();
        if (!TrustDomains.IsValid(domain, out var domainError))
        {
            error = domainError!;
            return false;
        }

        var path = rest[(slash + 1)..];
        var second = path.IndexOf('/');
        if (second < 0)
        {
            error = "path must have exactly two segments: /gateway|agent|operator|analyst/<name>";
            return false;
        }

        var kindText = path[..second];
        var name = path[(second + 1)..];
        if (name.IndexOf('/') >= 0)
        {
            error = name.EndsWith('/') ? "trailing '/' is not allowed" : "path must have exactly two segments: /gateway|agent|operator|analyst/<name>";
            return false;
        }

        if (!TryParseKind(kindText, out var kind))
        {
            error = $"unknown workload kind '{kindText.ToString()}'; expected gateway, agent, operator or analyst";
            return false;
        }

        var nameString = name.ToString();
        if (!IsValidName(nameString, out var nameError))
        {
            error = nameError;
            return false;
        }

        id = new SpiffeId(domain, kind, nameString);
        error = null;
        return true;
    }

    /// <summary>Validated id of a gateway.</summary>
    public static SpiffeId Gateway(string trustDomain, string name) => Create(trustDomain, WorkloadKind.Gateway, name);

    /// <summary>Validated id of an agent.</summary>
    public static SpiffeId Agent(string trustDomain, string name) => Create(trustDomain, WorkloadKind.Agent, name);

    /// <summary>Validated id of an operator.</summary>
    public static SpiffeId Operator(string trustDomain, string name) => Create(trustDomain, WorkloadKind.Operator, name);

    /// <summary>Validated id of any kind; <see cref="ArgumentException"/> naming the problem.</summary>
    public static SpiffeId Create(string trustDomain, WorkloadKind kind, string name)
    {
        TrustDomains.ThrowIfInvalid(trustDomain, nameof(trustDomain));
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown workload kind");
        }

        if (!IsValidName(name, out var error))
        {
            throw new ArgumentException(error, nameof(name));
        }

        return new SpiffeId(trustDomain, kind, name);
    }

    /// <summary>Lower-case path segment for a kind ("gateway", "agent", "operator").</summary>
    public static string KindSegment(WorkloadKind kind) => kind switch
    {
        WorkloadKind.Gateway => "gateway",
        WorkloadKind.Agent => "agent",
        WorkloadKind.Operator => "operator",
        WorkloadKind.Analyst => "analyst",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown workload kind"),
    };

    /// <summary>The canonical URI form, e.g. <c>spiffe://ee.cybercoop/gateway/tallinn</c>.</summary>
    public override string ToString() => $"{Prefix}{TrustDomain}/{KindSegment(Kind)}/{Name}";

    /// <summary>The id as a <see cref="Uri"/> (for certificate SANs).</summary>
    public Uri ToUri() => new(ToString(), UriKind.Absolute);

    private static bool TryParseKind(ReadOnlySpan<char> text, out WorkloadKind kind)
    {
        switch (text)
        {
            case "gateway":
                kind = WorkloadKind.Gateway;
                return true;
            case "agent":
                kind = WorkloadKind.Agent;
                return true;
            case "operator":
                kind = WorkloadKind.Operator;
                return true;
            case "analyst":
                kind = WorkloadKind.Analyst;
                return true;
            default:
                kind = default;
                return false;
        }
    }

    private static bool IsValidName(string? name, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(name))
        {
            error = "workload name is empty";
            return false;
        }

        if (name.Length > MaxNameLength)
        {
            error = $"workload name is longer than {MaxNameLength} characters";
            return false;
        }

        if (name is "." or "..")
        {
            error = $"workload name '{name}' is a relative path segment";
            return false;
        }

        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '.' or '_'))
            {
                error = $"workload name '{Truncate(name)}' contains character U+{(int)c:X4}; only [A-Za-z0-9-._] are allowed";
                return false;
            }
        }

        error = null;
        return true;
    }

    private static string Truncate(string value) => value.Length <= 120 ? value : value[..120] + "...";
}
