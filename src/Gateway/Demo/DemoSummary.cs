using System.Text.Json.Serialization;

namespace CyberCoop.Gateway.Demo;

/// <summary>What the demo did, as printed at the end (and as JSON with <c>--json</c>).</summary>
internal sealed record DemoSummary
{
    /// <summary>True when every check of the run held (see <see cref="Problems"/> otherwise).</summary>
    public required bool Ok { get; init; }

    /// <summary>Wall-clock seconds from start to summary.</summary>
    public required double Seconds { get; init; }

    /// <summary>Folder the federation was made in (deleted unless <c>--keep</c> or <c>--dir</c>).</summary>
    public required string Directory { get; init; }

    /// <summary>Whether <see cref="Directory"/> was left on disk.</summary>
    public required bool Kept { get; init; }

    /// <summary>Per nation.</summary>
    public required IReadOnlyList<DemoNationSummary> Nations { get; init; }

    /// <summary>Indicators delivered per direction (as counted by the sender on the receiver's signed ack).</summary>
    public required IReadOnlyList<DemoFlowSummary> Flows { get; init; }

    /// <summary>The hostile attempts and how each ended.</summary>
    public required IReadOnlyList<DemoHostileSummary> Hostile { get; init; }

    /// <summary>Decisions read from the nodes' audit logs, by kind and reason.</summary>
    public required IReadOnlyDictionary<string, long> Decisions { get; init; }

    /// <summary>Checks that failed (empty when <see cref="Ok"/>).</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>The lifecycle step: a withdrawn false positive and sightings reported back (null before it ran).</summary>
    public DemoLifecycleSummary? Lifecycle { get; init; }

    /// <summary>The interoperability step: STIX export, TAXII pull and MISP feed export of one node (null before it ran).</summary>
    public DemoInteropSummary? Interop { get; init; }
}

/// <summary>One nation at the end of the run.</summary>
internal sealed record DemoNationSummary
{
    /// <summary>"EE".</summary>
    public required string Nation { get; init; }

    /// <summary>Trust domain.</summary>
    public required string TrustDomain { get; init; }

    /// <summary>Gateway SPIFFE id.</summary>
    public required string Gateway { get; init; }

    /// <summary>Agents that reported (each over its own mTLS Ingest stream).</summary>
    public required int Agents { get; init; }

    /// <summary>Sightings accepted from the agents.</summary>
    public required long Ingested { get; init; }

    /// <summary>Sightings the gateway refused as malformed.</summary>
    public required long IngestRejected { get; init; }

    /// <summary>Indicators delivered to peers (originated and relayed), counted on signed acks.</summary>
    public required long Shared { get; init; }

    /// <summary>Indicators accepted from peers.</summary>
    public required long Received { get; init; }

    /// <summary>Indicators an outbound policy held back (per peer).</summary>
    public required long Withheld { get; init; }

    /// <summary>Bundles relayed onwards.</summary>
    public required long Relayed { get; init; }

    /// <summary>Distinct TLP:RED indicators its agents reported.</summary>
    public required int RedIngested { get; init; }

    /// <summary>Of those, how many are in no other nation's database.</summary>
    public required int RedKeptHome { get; init; }

    /// <summary>Calls refused at the handshake or by authorization.</summary>
    public required long Denied { get; init; }

    /// <summary>Envelopes refused.</summary>
    public required long EnvelopesRejected { get; init; }

    /// <summary>Indicators in its database at the end.</summary>
    public required long Stored { get; init; }
}

/// <summary>Indicators that went from one nation to another.</summary>
internal sealed record DemoFlowSummary(string From, string To, long Envelopes, long Indicators);

/// <summary>One hostile attempt.</summary>
internal sealed record DemoHostileSummary
{
    /// <summary>Short name ("replay", "forged-signature", ...).</summary>
    public required string Attempt { get; init; }

    /// <summary>What the attacker did.</summary>
    public required string Description { get; init; }

    /// <summary>Nation attacked.</summary>
    public required string Target { get; init; }

    /// <summary>How the target answered (ack status and reason, or the handshake failure).</summary>
    public required string Outcome { get; init; }

    /// <summary>True when the target refused it and stored nothing from it.</summary>
    public required bool Refused { get; init; }

    /// <summary>True when the target's audit log records the refusal (a duplicate is answered, not audited).</summary>
    public required bool Audited { get; init; }
}

/// <summary>Source-generated JSON of the summary (camelCase, indented).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(DemoSummary))]
internal sealed partial class DemoJsonContext : JsonSerializerContext;
