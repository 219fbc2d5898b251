namespace CyberCoop.Gateway.Policy;

/// <summary>One policy rule as evaluated: its code ("tlp-above-ceiling"), whether it passed, and why.</summary>
internal sealed record PolicyRuleResult(string Code, bool Passed, string Detail);
