namespace CyberCoop.Gateway.Pipeline;

/// <summary>How counts of the same source (same node and sensor) combine in a merge.</summary>
internal enum ObservationMerge
{
    /// <summary>
    /// The incoming observation is new sightings (an agent's report): counts are added.
    /// </summary>
    Accumulate = 0,

    /// <summary>
    /// The incoming observation is a source's cumulative state (a peer re-sending its merged record):
    /// the larger count wins, so re-delivery and re-ordering never inflate counts.
    /// </summary>
    LatestState = 1,
}
