using CyberCoop.Crypto;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Configuration;

/// <summary>Validates the <c>taxii</c> section; every problem is reported, each naming its field.</summary>
internal static class TaxiiConfigValidator
{
    public static void Validate(TaxiiConfig taxii, NodeConfig? node, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(taxii);
        ArgumentNullException.ThrowIfNull(errors);
        if (!GatewayConfigValidator.TryParseListen(taxii.Listen, out var listen))
        {
            errors.Add($"taxii.listen: '{taxii.Listen}' is not host:port (IPv4, [IPv6] or localhost)");
        }
        else if (node is not null && GatewayConfigValidator.TryParseListen(node.Listen, out var own) && listen.Port != 0 && listen.Equals(own))
        {
            errors.Add($"taxii.listen: '{taxii.Listen}' is node.listen; the TAXII server needs its own port");
        }

        if (taxii.MaxPageSize is < 1 or > 10_000)
        {
            errors.Add($"taxii.maxPageSize: {taxii.MaxPageSize} must be 1 to 10000");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < taxii.Analysts.Count; i++)
        {
            var analyst = taxii.Analysts[i];
            var at = $"taxii.analysts[{i}]";
            if (analyst is null)
            {
                errors.Add($"{at}: must not be null");
                continue;
            }

            if (!SpiffeId.TryParse("spiffe://x.invalid/analyst/" + analyst.Name, out _, out var nameError) || analyst.Name.Length == 0)
            {
                errors.Add($"{at}.name: '{analyst.Name}' is not a workload name ({nameError ?? "empty"})");
            }
            else if (!names.Add(analyst.Name))
            {
                errors.Add($"{at}.name: '{analyst.Name}' is listed more than once");
            }

            if (analyst.SecretHash is not null && !SecretHash.IsWellFormed(analyst.SecretHash, out var hashError))
            {
                errors.Add($"{at}.secretHash: {hashError}");
            }

            if (!TlpNames.TryParse(analyst.Clearance, out _))
            {
                errors.Add($"{at}.clearance: '{analyst.Clearance}' is not CLEAR, GREEN, AMBER, AMBER+STRICT or RED");
            }
        }
    }
}
