using CyberCoop.Gateway.Cli;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>An operator at a terminal (or not) who answers with a fixed word.</summary>
internal sealed class ScriptedPrompt(bool interactive, string answer) : OperatorPrompt
{
    public int Questions { get; private set; }

    public override bool IsInteractive => interactive;

    public override bool Confirm(TextWriter output, string question)
    {
        Questions++;
        output.WriteLine(question);
        return answer == "yes";
    }
}
