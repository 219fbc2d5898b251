namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Where a stored indicator's origin view is: what this node's own agents reported, without anything received from
/// peers. Only that view is ever originated (signed as this node and sent); peers' content leaves only by relay, under
/// the original origin's signature. Stored in the indicators table's own_state column (schema version 7).
/// </summary>
internal enum OwnState
{
    /// <summary>No own agent reported it (received only): this node is not an origin for it.</summary>
    None = 0,

    /// <summary>Only own agents contributed: the merged record is the own view.</summary>
    Whole = 1,

    /// <summary>Own and received content are both merged in the record; the own view is kept apart (own_blob).</summary>
    Separate = 2,
}
