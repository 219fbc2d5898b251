namespace CyberCoop.Load;

/// <summary>Command line of the load tool.</summary>
internal static class LoadCommand
{
    private const string Usage =
        """
        usage: CyberCoop.Load e2e [--quick] [--postgres] [--no-doc] [--doc <performance.md>] [--gateway <folder>]
                                  [--cores <n>] [--stored <n>]
               CyberCoop.Load stages
               CyberCoop.Load writes [--stored <n>]
               CyberCoop.Load faults [--duration <seconds>] [--outbox <indicators>]
               CyberCoop.Load abuse [--runs <n>] [--sightings <n>] [--streams <n>]

          e2e       start two real gateways (separate processes, real certificates and SQLite files in a temp
                    directory), drive them over mTLS Ingest, and measure throughput, propagation latency and RSS,
                    with and without a large store, against raw SQLite and raw gRPC baselines run in the same run.
          --quick   about one minute (smaller counts; 100,000 stored instead of 1,000,000).
          --postgres  also, in the same run: a throwaway PostgreSQL cluster of the local installation (initdb, pg_ctl;
                    durable defaults), raw PostgreSQL baselines of the same rows (batched inserts, binary COPY), and the
                    empty-store pass with both nations on PostgreSQL, with one gateway process each and with two
                    processes of A active-active on its database; the server's CPU and writes are measured too.
                    The PostgreSQL table goes into its own block of docs/performance.md. Run as root or as a user
                    that may run initdb (as root the cluster runs as the postgres user).
          --no-doc  print the table only; by default it is also written into docs/performance.md.
          --gateway run the CyberCoop.Gateway.dll in <folder> (e.g. a ReadyToRun publish:
                    dotnet publish src/Gateway -c Release -r linux-x64 --self-contained false
                    -p:PublishReadyToRun=true -o <folder>), or its native cybercoop-gateway when the folder
                    is a Native AOT publish (-p:PublishAot=true), instead of the build beside the load tool.
          --cores   pin each gateway process to <n> CPUs (taskset): A to CPUs 0..n-1, B to the last n.
          --stored  indicators stored before the second pass (default 1,000,000; --quick 100,000; 0 skips it).
          stages    CPU and wall time of every stage from A's Ingest to B's commit, one after another.
          writes    WAL pages per indicator by stage and table/index (A's and B's SQLite writes through the
                    gateway's store, <n> indicators stored first), and the database-file writes of checkpoint
                    policies computed from the same WAL frames.
          faults    two real gateways with a fault-injecting proxy on A's link to B: for each fault (latency,
                    bandwidth, resets, black holes each way, partition; --duration seconds each, default 5) a
                    steady load into A; prints fault, duration, indicators offered, delivered, duplicates and
                    recovery time; then A's RSS against its outbox depth over a partition (--outbox indicators,
                    default 100,000). Exits 1 when anything offered was not delivered or was stored twice.
          abuse     two real gateways, A with the default per-identity limits; a good agent sends --runs runs
                    (default 7) of --sightings sightings (default 2,000) into A before, during and after a
                    hostile agent certificate (its own process) holds --streams streams (default 200) open on A
                    and pushes flat out; prints the good agent's ingest and exchange times per phase, the
                    slow-down under attack and the CPU each process used.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "sink")
        {
            return await GrpcSink.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "hostile")
        {
            return await Abuse.HostileAgent.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "abuse")
        {
            int runs = 7, sightings = 2_000, streams = 200;
            for (var i = 1; i < args.Length; i += 2)
            {
                if (i + 1 >= args.Length || args[i] is not ("--runs" or "--sightings" or "--streams")
                    || !int.TryParse(args[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= 0)
                {
                    await Console.Error.WriteLineAsync($"abuse: unknown or invalid argument '{args[i]}'\n{Usage}");
                    return 2;
                }

                _ = args[i] switch
                {
                    "--runs" => runs = value,
                    "--sightings" => sightings = value,
                    _ => streams = value,
                };
            }

            using var stopAbuse = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stopAbuse.Cancel();
            };
            await Abuse.AbuseRun.RunAsync(runs, sightings, streams, Console.Out, stopAbuse.Token);
            return 0;
        }

        if (args.Length > 0 && args[0] == "stages")
        {
            const int bundles = 20;
            const int size = 1_000;
            foreach (var suite in new[] { Contracts.V1.Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, Contracts.V1.Suite.X25519Aes256GcmEd25519 })
            {
                var stages = await StageProfile.RunAsync(bundles, size, suite, CancellationToken.None);
                Console.WriteLine($"Stages, {bundles} bundles of {size:N0}, suite {suite}; load average {MachineInfo.LoadAverage()}");
                Console.WriteLine(StageProfile.Markdown(stages, bundles * size));
            }

            return 0;
        }

        if (args.Length > 0 && args[0] == "writes")
        {
            var stored = 0;
            if (args.Length > 1 && (args.Length != 3 || args[1] != "--stored"
                || !int.TryParse(args[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out stored)))
            {
                await Console.Error.WriteLineAsync("writes: expected '--stored <n>' with n a whole number of indicators, got '" + string.Join(' ', args[1..]) + "'\n" + Usage);
                return 2;
            }

            Console.WriteLine(await WriteProfile.RunAsync(stored, bundles: 20, bundleSize: 1_000, CancellationToken.None));
            return 0;
        }

        if (args.Length > 0 && args[0] == "faults")
        {
            var seconds = 5;
            var outbox = 100_000;
            for (var i = 1; i < args.Length; i++)
            {
                if (i + 1 < args.Length && args[i] is "--duration" or "--outbox"
                    && int.TryParse(args[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0)
                {
                    if (args[i] == "--duration")
                    {
                        seconds = value;
                    }
                    else
                    {
                        outbox = Math.Max(1_000, value);
                    }

                    i++;
                    continue;
                }

                await Console.Error.WriteLineAsync($"faults: unknown or invalid argument '{args[i]}'\n{Usage}");
                return 2;
            }

            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            return await Faults.FaultsRun.RunAsync(TimeSpan.FromSeconds(seconds), outbox, Console.Out, stop.Token);
        }

        if (args.Length == 0 || args[0] != "e2e")
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        var options = LoadOptions.Full;
        var writeDoc = true;
        string? doc = null;
        string? gateway = null;
        int? cores = null;
        int? prestoredCount = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    options = LoadOptions.Quick with { Postgres = options.Postgres };
                    break;
                case "--postgres":
                    options = options with { Postgres = true };
                    break;
                case "--smoke":
                    options = LoadOptions.Smoke with { Postgres = options.Postgres };
                    break;
                case "--no-doc":
                    writeDoc = false;
                    break;
                case "--doc" when i + 1 < args.Length:
                    doc = args[++i];
                    break;
                case "--gateway" when i + 1 < args.Length:
                    gateway = args[++i];
                    if (LoadOptions.GatewayProgram(gateway) is null)
                    {
                        await Console.Error.WriteLineAsync($"--gateway: no CyberCoop.Gateway.dll (or Native AOT cybercoop-gateway) in '{gateway}'");
                        return 2;
                    }

                    break;
                case "--cores" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                        || n < 1 || n > Environment.ProcessorCount)
                    {
                        await Console.Error.WriteLineAsync($"--cores: expected a whole number from 1 to {Environment.ProcessorCount} (this machine's CPUs), got '{args[i]}'");
                        return 2;
                    }

                    cores = n;
                    break;
                case "--stored" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count))
                    {
                        await Console.Error.WriteLineAsync($"--stored: expected a whole number of indicators, got '{args[i]}'");
                        return 2;
                    }

                    prestoredCount = count;
                    break;
                default:
                    await Console.Error.WriteLineAsync($"unknown argument '{args[i]}'\n{Usage}");
                    return 2;
            }
        }

        options = options with
        {
            GatewayDirectory = gateway is null ? null : Path.GetFullPath(gateway),
            CoresPerGateway = cores,
            Prestored = prestoredCount ?? options.Prestored,
        };
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };

        var report = await E2eRun.RunAsync(options, Console.Out, cts.Token);
        var markdown = LoadReportWriter.Markdown(report);
        Console.WriteLine();
        Console.WriteLine(markdown);
        var postgres = report.Postgres is null ? null : LoadReportWriter.PostgresMarkdown(report);
        if (postgres is not null)
        {
            Console.WriteLine(postgres);
        }

        if (writeDoc)
        {
            doc ??= FindPerformanceDoc();
            if (doc is null)
            {
                await Console.Error.WriteLineAsync("docs/performance.md not found (run from the repository); the table is above.");
                return 0;
            }

            LoadReportWriter.WriteInto(doc, markdown);
            if (postgres is not null)
            {
                LoadReportWriter.WritePostgresInto(doc, postgres);
            }

            Console.WriteLine($"written into {doc}");
        }

        return 0;
    }

    private static string? FindPerformanceDoc()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "CyberCoop.sln")))
                {
                    return Path.Combine(dir.FullName, "docs", "performance.md");
                }
            }
        }

        return null;
    }
}
