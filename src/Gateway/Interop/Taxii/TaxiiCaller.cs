using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>An authenticated analyst: who (for the audit trail and logs) and the highest TLP they may read.</summary>
internal sealed record TaxiiCaller(string Name, string Method, Tlp Clearance);
