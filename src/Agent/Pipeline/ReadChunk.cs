using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Pipeline;

/// <summary>
/// What a reader hands the batcher: the sightings of some consecutive lines of one file and the
/// checkpoint just after them. The checkpoint may be committed only once all these sightings are
/// durably spooled.
/// </summary>
/// <param name="Sightings">Sightings (possibly none: the lines held no detection).</param>
/// <param name="Checkpoint">Position after the lines.</param>
internal sealed record ReadChunk(List<Sighting> Sightings, FileCheckpoint Checkpoint);
