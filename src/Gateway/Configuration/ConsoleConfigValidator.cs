namespace CyberCoop.Gateway.Configuration;

/// <summary>Validates the <c>console</c> section; every problem is reported, each naming its field.</summary>
internal static class ConsoleConfigValidator
{
    public static void Validate(ConsoleConfig console, NodeConfig? node, TaxiiConfig? taxii, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(errors);
        if (!GatewayConfigValidator.TryParseListen(console.Listen, out var listen))
        {
            errors.Add($"console.listen: '{console.Listen}' is not host:port (IPv4, [IPv6] or localhost)");
        }
        else
        {
            if (listen.Port != 0 && node is not null && GatewayConfigValidator.TryParseListen(node.Listen, out var own) && listen.Equals(own))
            {
                errors.Add($"console.listen: '{console.Listen}' is node.listen; the console needs its own port");
            }

            if (listen.Port != 0 && taxii is not null && GatewayConfigValidator.TryParseListen(taxii.Listen, out var taxiiListen) && listen.Equals(taxiiListen))
            {
                errors.Add($"console.listen: '{console.Listen}' is taxii.listen; the console needs its own port");
            }

            if (console.LoopbackOnly && !System.Net.IPAddress.IsLoopback(listen.Address))
            {
                errors.Add($"console.listen: '{console.Listen}' is not a loopback address, but console.loopbackOnly serves plain HTTP without certificates; " +
                    "use 127.0.0.1 or [::1], or turn loopbackOnly off to require operator certificates");
            }
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < console.Operators.Count; i++)
        {
            var entry = console.Operators[i];
            var at = $"console.operators[{i}]";
            if (entry is null)
            {
                errors.Add($"{at}: must not be null");
                continue;
            }

            if (!GatewayConfigValidator.IsValidName(entry.Name))
            {
                errors.Add($"{at}.name: '{entry.Name}' is not a workload name (1-64 characters of a-z, 0-9, '-', '_' or '.')");
            }
            else if (!names.Add(entry.Name))
            {
                errors.Add($"{at}.name: '{entry.Name}' is listed more than once");
            }

            if (entry.Role is not (ConsoleRoles.ReadOnly or ConsoleRoles.Operator))
            {
                errors.Add($"{at}.role: '{entry.Role}' is not '{ConsoleRoles.ReadOnly}' or '{ConsoleRoles.Operator}'");
            }
        }
    }
}
