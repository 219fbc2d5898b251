using System.CommandLine;
using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Cli;

/// <summary><c>taxii hash-secret</c>: makes the PBKDF2 hash of an analyst's basic-auth secret for gateway.json.</summary>
internal static class TaxiiCommand
{
    public static Command Create()
    {
        var hash = new Command("hash-secret",
            "Read a secret from the first line of standard input and print its PBKDF2-HMAC-SHA256 hash " +
            "(600,000 iterations, random salt) for taxii.analysts[].secretHash in gateway.json. The secret itself is never stored.\n\n" +
            "Example:\n  openssl rand -base64 24 | tee opencti.secret | dotnet run --project src/Gateway -- taxii hash-secret");
        CliAction.Set(hash, async (_, io, ct) =>
        {
            var secret = await Console.In.ReadLineAsync(ct).ConfigureAwait(false);
            if (string.IsNullOrEmpty(secret))
            {
                throw CliException.Usage("no secret on standard input (pipe one line in)");
            }

            if (secret.Length < 16)
            {
                throw CliException.Usage("the secret must be at least 16 characters");
            }

            await io.Output.WriteLineAsync(SecretHash.Hash(secret)).ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return new Command("taxii", "The TAXII 2.1 server for analysts' tools (see docs/interoperability.md).") { hash };
    }
}
