using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Lifecycle;

/// <summary>
/// The known-answer vectors of docs/protocol.md §13.5: the message bytes were encoded by hand from the proto3 wire format
/// and signed with an independent Ed25519ph implementation written from RFC 8032 (which reproduces its §7.3 vector),
/// with the RFC 8032 §7.3 key.
/// </summary>
public sealed class LifecycleVectorsTests
{
    private const string Seed = "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42";

    private const string WithdrawalHex =
        "0a100102030405060708090a0b0c0d0e0f1012257370696666653a2f2f65652e6379626572636f6f702f676174657761792f74616c6c696e6e1a24366330" +
        "65623732632d393465352d353333302d623437642d38376635626534363934343820012a0b3230332e302e3131332e37321b43444e20616464726573732c" +
        "2066616c736520706f7369746976653a060880d9dbd906";

    private const string WithdrawalSignature =
        "0315a99fb223e3564dca1de81b16919097b9ba21bf3dcc67bac70df9d13bffd973185260a9d39bced0d3dd79daff742617d7f2e5f7a54e593f4671de58b65707";

    private const string ReportHex =
        "0a101112131415161718191a1b1c1d1e1f2012267370696666653a2f2f66692e6379626572636f6f702f676174657761792f68656c73696e6b691a2573" +
        "70696666653a2f2f65652e6379626572636f6f702f676174657761792f74616c6c696e6e220608f0bcdbd9062a060880d9dbd90632400a2436633065623732" +
        "632d393465352d353333302d623437642d38376635626534363934343810031a0608f0bcdbd906220608a8d4dbd9062a06656e65726779";

    private const string ReportSignature =
        "dd812359d7afae07b276f55bff6de6b61dc382389d8e3313a3dbcc195a5cbf3929ab63d67153ccb3bfb5f3a99e77b295c8f4bb9aacc7d6a43eecc83b667a7809";

    private static readonly DateTimeOffset At = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static byte[] Range(byte from) => [.. Enumerable.Range(from, 16).Select(i => (byte)i)];

    [Fact]
    public void Withdrawal_vector_serializes_signs_and_verifies_as_documented()
    {
        var withdrawal = new Withdrawal
        {
            WithdrawalId = ByteString.CopyFrom(Range(1)),
            Origin = "spiffe://ee.cybercoop/gateway/tallinn",
            IndicatorId = IndicatorIds.Compute(IndicatorType.Ipv4, "203.0.113.7"),
            Type = IndicatorType.Ipv4,
            Value = "203.0.113.7",
            Reason = "CDN address, false positive",
            WithdrawnAt = Timestamp.FromDateTimeOffset(At),
        };
        using var key = SigningKeyPair.FromEd25519Seed(Convert.FromHexString(Seed));

        var bytes = withdrawal.ToByteArray();
        var signature = ContentSignatures.Sign(SignaturePurpose.Withdrawal, bytes, key);

        Assert.Equal("6c0eb72c-94e5-5330-b47d-87f5be469448", withdrawal.IndicatorId);
        Assert.Equal(WithdrawalHex, Convert.ToHexStringLower(bytes));
        Assert.Equal(WithdrawalSignature, Convert.ToHexStringLower(signature));
        Assert.True(ContentSignatures.Verify(SignaturePurpose.Withdrawal, bytes, signature, key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, bytes, signature, key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.SightingReport, bytes, signature, key.PublicKey));
        Assert.Null(LifecycleReceiver.CheckForm(Withdrawal.Parser.ParseFrom(Convert.FromHexString(WithdrawalHex)), At));
    }

    [Fact]
    public void Sighting_report_vector_serializes_signs_and_verifies_as_documented()
    {
        var report = new SightingReport
        {
            ReportId = ByteString.CopyFrom(Range(17)),
            Reporter = "spiffe://fi.cybercoop/gateway/helsinki",
            Origin = "spiffe://ee.cybercoop/gateway/tallinn",
            PeriodStart = Timestamp.FromDateTimeOffset(At.AddHours(-1)),
            PeriodEnd = Timestamp.FromDateTimeOffset(At),
            Sightings =
            {
                new SightingCount
                {
                    IndicatorId = "6c0eb72c-94e5-5330-b47d-87f5be469448",
                    Count = 3,
                    FirstSeen = Timestamp.FromDateTimeOffset(At.AddHours(-1)),
                    LastSeen = Timestamp.FromDateTimeOffset(At.AddMinutes(-10)),
                    Sectors = { "energy" },
                },
            },
        };
        using var key = SigningKeyPair.FromEd25519Seed(Convert.FromHexString(Seed));

        var bytes = report.ToByteArray();
        var signature = ContentSignatures.Sign(SignaturePurpose.SightingReport, bytes, key);

        Assert.Equal(ReportHex, Convert.ToHexStringLower(bytes));
        Assert.Equal(ReportSignature, Convert.ToHexStringLower(signature));
        Assert.True(ContentSignatures.Verify(SignaturePurpose.SightingReport, bytes, signature, key.PublicKey));
        Assert.Null(SightingsReceiver.CheckForm(report, report.Reporter, At));
    }

    [Fact]
    public void Withdrawal_form_errors_name_the_field()
    {
        Withdrawal Valid() => Withdrawal.Parser.ParseFrom(Convert.FromHexString(WithdrawalHex));
        string? Check(Action<Withdrawal> change)
        {
            var w = Valid();
            change(w);
            return LifecycleReceiver.CheckForm(w, At);
        }

        Assert.Contains("withdrawal_id", Check(w => w.WithdrawalId = ByteString.CopyFrom([1, 2])), StringComparison.Ordinal);
        Assert.Contains("origin", Check(w => w.Origin = "spiffe://ee.cybercoop/agent/x"), StringComparison.Ordinal);
        Assert.Contains("type", Check(w => w.Type = IndicatorType.Unspecified), StringComparison.Ordinal);
        Assert.Contains("canonical", Check(w => w.Value = "203.000.113.7"), StringComparison.Ordinal);
        Assert.Contains("indicator_id", Check(w => w.IndicatorId = IndicatorIds.Compute(IndicatorType.Ipv4, "203.0.113.8")), StringComparison.Ordinal);
        Assert.Contains("reason", Check(w => w.Reason = ""), StringComparison.Ordinal);
        Assert.Contains("reason", Check(w => w.Reason = new string('x', 1025)), StringComparison.Ordinal);
        Assert.Contains("withdrawn_at", Check(w => w.WithdrawnAt = null), StringComparison.Ordinal);
        Assert.Contains("withdrawn_at", Check(w => w.WithdrawnAt = Timestamp.FromDateTimeOffset(At.AddDays(2))), StringComparison.Ordinal);
    }
}
