using System.Text.Json.Nodes;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>One exported STIX object with the facts TAXII filters on.</summary>
/// <param name="Id">The STIX id ("indicator--…").</param>
/// <param name="Type">The STIX type ("indicator", "identity", "vulnerability", "marking-definition").</param>
/// <param name="Modified">The object's <c>modified</c> (its version), millisecond precision.</param>
/// <param name="Json">The object itself.</param>
/// <param name="Origin">The trust domain that created it (indicators and vulnerabilities), else null.</param>
internal sealed record StixObject(string Id, string Type, DateTimeOffset Modified, JsonObject Json, string? Origin = null);
