namespace CyberCoop.Gateway.Storage;

/// <summary>An indicator withheld from one peer until its embargo ends.</summary>
internal readonly record struct EmbargoedItem(string Peer, string IndicatorId);
