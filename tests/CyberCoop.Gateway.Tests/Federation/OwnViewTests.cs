using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Tests.Federation;

/// <summary>Only this node's own observations are ever originated (OutboundDispatcher.OwnView), also after redaction.</summary>
public sealed class OwnViewTests
{
    private const string Self = "spiffe://ee.cybercoop/gateway/tallinn";
    private const string Other = "spiffe://lv.cybercoop/gateway/riga";

    private static Indicator With(params string[] nodes)
    {
        var indicator = new Indicator { Id = "id-1", Type = IndicatorType.Domain, Value = "evil.example", Tlp = Tlp.Green, Confidence = 60 };
        for (var i = 0; i < nodes.Length; i++)
        {
            indicator.Observations.Add(new Observation { Node = nodes[i], Sensor = $"agent-{i}/suricata", Count = (uint)(i + 1), Context = { ["k"] = $"v{i}" } });
        }

        return indicator;
    }

    [Fact]
    public void Indicator_with_other_nodes_observations_is_shared_with_only_this_nodes_observations()
    {
        var indicator = With(Other, Self, Other, Self);
        var before = indicator.Clone();

        var own = OutboundDispatcher.OwnView(indicator, Self);

        Assert.NotNull(own);
        Assert.Equal([Self, Self], own.Observations.Select(o => o.Node));
        Assert.Equal([2u, 4u], own.Observations.Select(o => o.Count));
        Assert.Equal(before, indicator);
        var sent = OutboundPolicyEvaluator.Redact(own, new OutboundPolicy().Redact);
        Assert.Equal([Self, Self], sent.Observations.Select(o => o.Node));
        Assert.All(sent.Observations, o => Assert.Empty(o.Context));
        Assert.All(sent.Observations, o => Assert.Equal(string.Empty, o.Sensor));
        Assert.Equal(before, indicator);
    }

    [Fact]
    public void Indicator_seen_only_by_others_is_not_originated()
    {
        Assert.Null(OutboundDispatcher.OwnView(With(Other, Other), Self));
        Assert.Null(OutboundDispatcher.OwnView(With(), Self));
    }

    [Fact]
    public void Indicator_seen_only_here_is_used_as_is()
    {
        var indicator = With(Self, Self);

        Assert.Same(indicator, OutboundDispatcher.OwnView(indicator, Self));
    }
}
