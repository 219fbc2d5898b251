namespace CyberCoop.Crypto;

/// <summary>Intermediate values of the RFC 9180 key schedule (mode_base).</summary>
internal sealed record HpkeKeyScheduleValues(HpkeLabels Labels, byte[] KeyScheduleContext, byte[] Secret, byte[] Key, byte[] BaseNonce, byte[] ExporterSecret);
