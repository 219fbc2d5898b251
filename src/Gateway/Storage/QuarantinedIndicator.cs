using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>A received indicator the inbound policy put aside, and why.</summary>
internal sealed record QuarantinedIndicator(Indicator Indicator, string Reason);
