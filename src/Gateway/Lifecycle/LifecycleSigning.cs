using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// Signs lifecycle messages as this node (withdrawals as the origin, sighting reports as the reporter) with its content
/// signing key of a suite, and signs them again when they waited in an outbox past the key's announcement.
/// </summary>
internal static class LifecycleSigning
{
    /// <summary>Serializes and signs a withdrawal (stamped now by the caller) with the suite's signing key of its withdrawn-at.</summary>
    public static SignedWithdrawal Sign(NodeIdentity identity, Suite suite, Withdrawal withdrawal)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(withdrawal);
        var bytes = withdrawal.ToByteArray();
        var key = identity.SigningKey(suite, withdrawal.WithdrawnAt.ToDateTimeOffset());
        return new SignedWithdrawal
        {
            Withdrawal = ByteString.CopyFrom(bytes),
            Suite = suite,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Withdrawal, bytes, key)),
        };
    }

    /// <summary>Serializes and signs a sighting report with the suite's signing key of its period end.</summary>
    public static SignedSightingReport Sign(NodeIdentity identity, Suite suite, SightingReport report)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(report);
        var bytes = report.ToByteArray();
        var key = identity.SigningKey(suite, report.PeriodEnd.ToDateTimeOffset());
        return new SignedSightingReport
        {
            Report = ByteString.CopyFrom(bytes),
            Suite = suite,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.SightingReport, bytes, key)),
        };
    }

    /// <summary>
    /// A lifecycle message this node signed with a key it no longer announces is signed again with the current key and
    /// a fresh time (withdrawn-at, period end), its id unchanged, so receivers still drop a copy that did arrive. Relayed
    /// withdrawals (another origin's) and anything unreadable are returned unchanged: only their signer can sign them.
    /// </summary>
    public static byte[] Resign(NodeIdentity identity, PayloadKind kind, byte[] payload, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(payload);
        try
        {
            switch (kind)
            {
                case PayloadKind.Withdrawal:
                {
                    var signed = SignedWithdrawal.Parser.ParseFrom(payload);
                    var withdrawal = Withdrawal.Parser.ParseFrom(signed.Withdrawal);
                    if (withdrawal.Origin != identity.IdText || identity.IsAnnouncedSigningKey(signed.SignerKeyId.Span))
                    {
                        return payload;
                    }

                    withdrawal.WithdrawnAt = Timestamp.FromDateTimeOffset(now);
                    return Sign(identity, signed.Suite, withdrawal).ToByteArray();
                }

                case PayloadKind.SightingReport:
                {
                    var signed = SignedSightingReport.Parser.ParseFrom(payload);
                    var report = SightingReport.Parser.ParseFrom(signed.Report);
                    if (report.Reporter != identity.IdText || identity.IsAnnouncedSigningKey(signed.SignerKeyId.Span))
                    {
                        return payload;
                    }

                    report.PeriodEnd = Timestamp.FromDateTimeOffset(now);
                    return Sign(identity, signed.Suite, report).ToByteArray();
                }

                default:
                    return payload;
            }
        }
        catch (InvalidProtocolBufferException)
        {
            return payload;
        }
    }
}
