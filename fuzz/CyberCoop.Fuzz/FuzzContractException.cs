namespace CyberCoop.Fuzz;

/// <summary>A target's own check failed: the parser accepted the input but broke a promise (a finding).</summary>
internal sealed class FuzzContractException(string message) : Exception(message);
