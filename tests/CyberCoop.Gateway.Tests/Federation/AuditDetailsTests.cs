using System.Buffers;
using System.Text;
using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Tests.Federation;

public sealed class AuditDetailsTests
{
    /// <summary>What the details were before the direct writer: every id through Utf8JsonWriter (the general path).</summary>
    private static string Reference(IEnumerable<string> ids, string? recipientKeyId = null, string? signerKeyId = null) =>
        AuditDetails.Escaped([.. ids], recipientKeyId, signerKeyId);

    private static string[] Ids(int count) =>
        [.. Enumerable.Range(0, count).Select(i => IndicatorIds.Compute(IndicatorType.Domain, $"c2-{i}.example"))];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void Uuid_ids_are_written_exactly_as_the_json_writer_writes_them(int count)
    {
        var ids = Ids(count);

        Assert.Equal(Reference(ids), AuditDetails.Indicators(ids));
        Assert.Equal(Reference(ids, "00ff", "a1b2"), AuditDetails.Indicators(ids, "00ff", "a1b2"));
        Assert.Equal(Reference(ids, null, "a1b2"), AuditDetails.Indicators(ids, null, "a1b2"));
        Assert.Equal(Reference(ids.Where(_ => true)), AuditDetails.Indicators(ids.Where(_ => true)));
        var indicators = ids.Select(id => new Indicator { Id = id }).ToList();
        Assert.Equal(Reference(ids, "00ff", "a1b2"), AuditDetails.Indicators(indicators.Select(i => i.Id), "00ff", "a1b2"));
    }

    [Fact]
    public void Every_id_of_the_indicators_is_listed_in_order()
    {
        var ids = Ids(1000);
        var indicators = ids.Select(id => new Indicator { Id = id }).ToList();

        var details = AuditDetails.Indicators(indicators);

        using var json = JsonDocument.Parse(details);
        Assert.Equal(ids, json.RootElement.GetProperty("indicators").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(Reference(ids), details);
    }

    [Theory]
    [InlineData("quote\"d")]
    [InlineData("back\\slash")]
    [InlineData("<script>")]
    [InlineData("a+b&c'd")]
    [InlineData("new\nline")]
    [InlineData("ünïcode")]
    [InlineData("slash/ed")]
    [InlineData("")]
    public void Ids_that_need_escaping_are_escaped_as_before(string odd)
    {
        string[] ids = [.. Ids(3), odd];

        var details = AuditDetails.Indicators(ids, "00ff", odd);

        Assert.Equal(Reference(ids, "00ff", odd), details);
        using var json = JsonDocument.Parse(details);
        Assert.Equal(odd, json.RootElement.GetProperty("indicators")[3].GetString());
    }
}
