namespace CyberCoop.Gateway.Identity;

/// <summary>This node's identity (replaced when a reload finds a renewed certificate or rotated content keys).</summary>
internal interface INodeIdentitySource
{
    /// <summary>The identity in force now; read it once per operation.</summary>
    NodeIdentity Current { get; }
}
