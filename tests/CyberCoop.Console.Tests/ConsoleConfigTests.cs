using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Console.Tests;

/// <summary>The <c>console</c> section of gateway.json: every mistake reported at once, each naming its field.</summary>
public sealed class ConsoleConfigTests
{
    private static readonly NodeConfig s_node = new() { Listen = "127.0.0.1:7401" };

    private static List<string> Validate(ConsoleConfig console, TaxiiConfig? taxii = null)
    {
        var errors = new List<string>();
        ConsoleConfigValidator.Validate(console, s_node, taxii, errors);
        return errors;
    }

    [Fact]
    public void Default_console_section_is_valid_on_loopback()
    {
        Assert.Empty(Validate(new ConsoleConfig()));
        Assert.Equal("127.0.0.1:7480", new ConsoleConfig().Listen);
    }

    [Fact]
    public void Rejects_every_mistake_at_once_naming_each_field()
    {
        var errors = Validate(new ConsoleConfig
        {
            Listen = "127.0.0.1:7401",
            Operators =
            [
                new ConsoleOperatorConfig { Name = "Alice!", Role = "operator" },
                new ConsoleOperatorConfig { Name = "bob", Role = "admin" },
                new ConsoleOperatorConfig { Name = "bob" },
            ],
        });

        Assert.Contains(errors, e => e.StartsWith("console.listen: '127.0.0.1:7401' is node.listen", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("console.operators[0].name: 'Alice!'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("console.operators[1].role: 'admin' is not 'read-only' or 'operator'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("console.operators[2].name: 'bob' is listed more than once", StringComparison.Ordinal));
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void Rejects_a_listen_address_that_is_not_host_port_or_is_the_taxii_port()
    {
        Assert.Contains(Validate(new ConsoleConfig { Listen = "console.example" }), e => e.StartsWith("console.listen: 'console.example' is not host:port", StringComparison.Ordinal));
        Assert.Contains(Validate(new ConsoleConfig { Listen = "127.0.0.1:7443" }, new TaxiiConfig { Listen = "127.0.0.1:7443" }),
            e => e.StartsWith("console.listen: '127.0.0.1:7443' is taxii.listen", StringComparison.Ordinal));
    }

    [Fact]
    public void Loopback_only_console_refuses_a_non_loopback_address()
    {
        var errors = Validate(new ConsoleConfig { Listen = "0.0.0.0:7480", LoopbackOnly = true });

        Assert.Contains(errors, e => e.StartsWith("console.listen: '0.0.0.0:7480' is not a loopback address, but console.loopbackOnly", StringComparison.Ordinal));
        Assert.Empty(Validate(new ConsoleConfig { Listen = "[::1]:7480", LoopbackOnly = true }));
    }

    [Fact]
    public void Gateway_config_with_a_bad_console_section_is_refused_at_load()
    {
        var config = new GatewayConfig { Console = new ConsoleConfig { Listen = "nowhere", Operators = [new ConsoleOperatorConfig { Name = "x", Role = "root" }] } };

        var errors = GatewayConfigValidator.Validate(config, Path.GetTempPath());

        Assert.Contains(errors, e => e.StartsWith("console.listen:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("console.operators[0].role:", StringComparison.Ordinal));
    }
}
