using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// An authenticated analyst: who (for the audit trail and logs), the highest TLP they may read, and whether they may
/// POST to the outbound collection.
/// </summary>
internal sealed record TaxiiCaller(string Name, string Method, Tlp Clearance, bool CanWrite = false);
