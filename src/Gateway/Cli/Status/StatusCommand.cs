using System.CommandLine;
using System.Globalization;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace CyberCoop.Gateway.Cli.Status;

/// <summary><c>status</c>: live state of a running node, read over its Admin socket.</summary>
internal static class StatusCommand
{
    private static readonly TimeSpan s_expiryWarning = TimeSpan.FromDays(7);
    private static readonly JsonFormatter s_json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    /// <summary>Builds the <c>status</c> command; ages and expiry warnings are measured against <paramref name="time"/>.</summary>
    public static Command Create(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var config = new Option<string>("--config") { Description = "The gateway's config file (its node.adminSocket is dialled).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the status as JSON (the Admin API's NodeStatus message)." };
        var watch = new Option<bool>("--watch", "-w") { Description = "Refresh until Ctrl-C (redraws on a terminal; otherwise prints each snapshot after a separator line)." };
        var interval = new Option<int>("--interval") { Description = "Seconds between refreshes with --watch.", DefaultValueFactory = _ => 2 };
        var command = new Command(
            "status",
            "Show a running node's status over its Admin socket: per agent last seen, batches, sightings stored and rejected, " +
            "the sequence of this node's trust bundle it holds and its last error (kept across restarts); per peer connected or " +
            "not and since when, last ack, outbox depth and oldest age, envelopes and indicators sent/received/withheld/rejected, " +
            "bundle sequences (ours it holds / its that we hold), last error; node totals; " +
            "certificate expiry warnings; when a content-key rotation is pending, when the new keys become active; when the PostgreSQL store's " +
            "server is down or does not answer within 3 s, a 'store UNAVAILABLE since ...' line with the cause, and the indicator count " +
            "and outbox depths as unknown. Exit 1 when no node is running." +
            Environment.NewLine + "Example: status --config gateway.json --json")
        {
            config, json, watch, interval,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var seconds = parse.GetValue(interval);
            if (seconds is < 1 or > 3600)
            {
                throw CliException.Usage($"--interval {seconds} must be between 1 and 3600");
            }

            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var socket = loaded.Resolve(loaded.Config.Node.AdminSocket);
            var asJson = parse.GetValue(json);
            if (!parse.GetValue(watch))
            {
                try
                {
                    await ShowAsync(io, socket, asJson, time, cancellationToken).ConfigureAwait(false);
                }
                catch (CliException ex) when (ex.Message.StartsWith("no gateway is running", StringComparison.Ordinal) && Storage.DatabaseCheck.Diagnose(loaded.Resolve(loaded.Config.Node.Storage)) is { } damaged)
                {
                    // No node answers: say why it cannot run when its database is the reason.
                    throw new CliException($"{ex.Message}; it cannot start: {damaged.Message}");
                }

                return CliExitCodes.Success;
            }

            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds), time);
            try
            {
                do
                {
                    if (io.IsTerminal && !asJson)
                    {
                        await io.Output.WriteAsync("\u001b[2J\u001b[H").ConfigureAwait(false);
                    }
                    else
                    {
                        await io.Output.WriteLineAsync($"--- {time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)} ---").ConfigureAwait(false);
                    }

                    try
                    {
                        await ShowAsync(io, socket, asJson, time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (CliException ex)
                    {
                        // Keep watching: the node may be restarting.
                        await io.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                    }

                    await io.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }

            return CliExitCodes.Success;
        });
        return command;
    }

    private static async Task ShowAsync(CliIo io, string socket, bool asJson, TimeProvider time, CancellationToken cancellationToken)
    {
        using var admin = AdminSocketClient.Connect(socket);
        NodeStatus status;
        try
        {
            status = await admin.Client.GetStatusAsync(new GetStatusRequest(), deadline: AdminSocketClient.Deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw admin.Explain(ex);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
        {
            // Ctrl-C during the call: gRPC reports it as a cancelled call; it is the stop the caller asked for.
            throw new OperationCanceledException("cancelled", ex, cancellationToken);
        }

        if (asJson)
        {
            await io.Output.WriteLineAsync(s_json.Format(status)).ConfigureAwait(false);
            return;
        }

        Print(io, status, time.GetUtcNow());
    }

    private static void Print(CliIo io, NodeStatus status, DateTimeOffset now)
    {
        io.Output.WriteLine($"node                {status.Node}");
        io.Output.WriteLine($"started             {When(status.StartedAt, now)}");
        var storeDown = status.StoreUnavailable.Length > 0;
        if (storeDown)
        {
            // The store's counts could not be read; everything else is the node's memory.
            var since = status.StoreUnavailableSince is null ? "" : $" since {When(status.StoreUnavailableSince, now)}";
            io.Output.WriteLine($"store               UNAVAILABLE{since}: {status.StoreUnavailable}");
        }

        io.Output.WriteLine($"indicators stored   {(storeDown ? "unknown (store unavailable)" : status.IndicatorsStored.ToString(CultureInfo.InvariantCulture))}");
        io.Output.WriteLine($"sightings ingested  {status.SightingsIngested} ({status.SightingsRejected} rejected)");
        io.Output.WriteLine($"calls denied        {status.CallsDenied}");
        io.Output.WriteLine(status.ConnectionBudget == 0
            ? $"connections         {status.ConnectionsOpen} inbound (not bounded: open-file limit unknown)"
            : $"connections         {status.ConnectionsOpen} of {status.ConnectionBudget} inbound ({status.ConnectionsRefused} closed at once at the budget)");
        if (status.CertificateNotAfter is not null)
        {
            var notAfter = status.CertificateNotAfter.ToDateTimeOffset();
            var left = notAfter - now;
            io.Output.WriteLine($"certificate until   {notAfter.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture)} ({Age(left)} left)");
            if (left < s_expiryWarning)
            {
                io.Error.WriteLine(left <= TimeSpan.Zero
                    ? "warning: the node's TLS certificate has EXPIRED; renew it with 'certs renew'"
                    : $"warning: the node's TLS certificate expires in {Age(left)}; renew it with 'certs renew'");
            }
        }

        if (status.TrustBundleExpiresAt is not null)
        {
            var expires = status.TrustBundleExpiresAt.ToDateTimeOffset();
            io.Output.WriteLine($"trust bundle        sequence {status.TrustBundleSequence}, until {expires.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture)} ({(expires <= now ? "EXPIRED" : Age(expires - now) + " left")})");
        }

        if (status.ContentKeysPendingActivation is { } activation)
        {
            var at = activation.ToDateTimeOffset();
            io.Output.WriteLine($"content keys        rotation pending: new keys active at {at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)} (in {Age(at - now)})");
        }

        foreach (var warning in status.Warnings)
        {
            io.Error.WriteLine($"warning: {warning}");
        }

        io.Output.WriteLine();
        if (status.Agents.Count == 0)
        {
            io.Output.WriteLine("no agent has called yet");
        }
        else
        {
            io.WriteTable(
                ["agent", "last seen", "batches", "sightings", "rejected", "bundle", "last error"],
                status.Agents.Select(a => (IReadOnlyList<string>)
                [
                    a.Agent,
                    $"{Since(a.LastSeen, now)} ago",
                    a.Batches.ToString(CultureInfo.InvariantCulture),
                    a.SightingsStored.ToString(CultureInfo.InvariantCulture),
                    a.SightingsRejected.ToString(CultureInfo.InvariantCulture),
                    Held(a.BundleSequenceHeld, a.BundleFetchedAt, status.TrustBundleSequence),
                    a.LastError.Length == 0 ? "-" : $"{a.LastError} ({Since(a.LastErrorAt, now)} ago)",
                ]));
        }

        io.Output.WriteLine();
        if (status.Peers.Count == 0)
        {
            io.Output.WriteLine("no peers configured");
            return;
        }

        io.WriteTable(
            ["peer", "state", "last ack", "outbox", "sent env/ind", "recv env/ind", "withheld", "rejected", "suite", "bundle ours/theirs", "clock skew", "last error"],
            status.Peers.Select(p => (IReadOnlyList<string>)
            [
                p.Peer,
                p.Connected ? $"up {Since(p.ConnectedSince, now)}" : "DOWN",
                p.LastAck is null ? "never" : $"{Since(p.LastAck, now)} ago",
                storeDown ? "?" : p.OutboxDepth == 0 ? "0" : $"{p.OutboxDepth} (oldest {Age(TimeSpan.FromSeconds(p.OldestAgeSeconds))})",
                $"{p.EnvelopesSent}/{p.IndicatorsSent}",
                $"{p.EnvelopesReceived}/{p.IndicatorsReceived}",
                p.IndicatorsWithheld.ToString(CultureInfo.InvariantCulture),
                p.EnvelopesRejected.ToString(CultureInfo.InvariantCulture),
                p.Suite.Length == 0 ? "-" : p.Suite,
                $"{Held(p.BundleSequenceHeld, p.BundleFetchedAt, status.TrustBundleSequence)}/{(p.PeerBundleSequence == 0 ? "pin" : p.PeerBundleSequence.ToString(CultureInfo.InvariantCulture))}",
                p.ClockSkewMeasured ? Skew(p.ClockSkewSeconds) : "-",
                p.LastError.Length == 0 ? "-" : p.LastError,
            ]));
    }

    /// <summary>
    /// Which sequence of this node's bundle a caller held at its last fetch: "-" before any, "3" when current, "2 (old)" when
    /// it has not fetched the one served since (it picks it up at its next refresh).
    /// </summary>
    private static string Held(ulong held, Timestamp? fetchedAt, ulong serving) =>
        fetchedAt is null ? "-"
            : held >= serving ? held.ToString(CultureInfo.InvariantCulture)
            : $"{held.ToString(CultureInfo.InvariantCulture)} (old)";

    private static string When(Timestamp? time, DateTimeOffset now) =>
        time is null ? "unknown" : $"{time.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)} ({Since(time, now)} ago)";

    private static string Since(Timestamp? time, DateTimeOffset now) =>
        time is null ? "?" : Age(now - time.ToDateTimeOffset());

    /// <summary>A peer's measured clock offset: "+0.0s" within a second, else "+2m ahead" / "-45s behind".</summary>
    internal static string Skew(double seconds) =>
        Math.Abs(seconds) < 1 ? $"{seconds.ToString("+0.0;-0.0", CultureInfo.InvariantCulture)}s"
            : $"{(seconds > 0 ? "+" : "-")}{Age(TimeSpan.FromSeconds(seconds))} {(seconds > 0 ? "ahead" : "behind")}";

    /// <summary>A short human duration: 42s, 7m, 3h12m, 5d.</summary>
    internal static string Age(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = -span;
        }

        return span.TotalSeconds < 60 ? $"{(int)span.TotalSeconds}s"
            : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes}m"
            : span.TotalHours < 48 ? $"{(int)span.TotalHours}h{span.Minutes:00}m"
            : $"{(int)span.TotalDays}d";
    }
}
