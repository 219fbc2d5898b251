using System.Reflection;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>Every log message of the gateway has its own event id, so an operator's filter or alert on an id means one thing.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void Every_log_message_of_the_gateway_has_a_distinct_event_id()
    {
        var messages = typeof(GatewayLog).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        var shared = messages
            .GroupBy(m => m.Attribute!.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method.DeclaringType!.Name + "." + m.Method.Name))}")
            .ToList();

        Assert.NotEmpty(messages);
        Assert.Empty(shared);
    }
}
