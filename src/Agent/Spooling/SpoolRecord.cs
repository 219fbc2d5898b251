using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Spooling;

/// <summary>One spooled batch and where it lies, so it can be acknowledged.</summary>
/// <param name="Batch">The batch as it will be sent (batch id fixed at spooling time).</param>
/// <param name="Segment">Segment sequence number.</param>
/// <param name="Offset">Offset of the record in the segment.</param>
/// <param name="Size">Record size in bytes (header included).</param>
internal sealed record SpoolRecord(IngestBatch Batch, long Segment, long Offset, int Size);
