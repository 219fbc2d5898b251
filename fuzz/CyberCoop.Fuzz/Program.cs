using CyberCoop.Fuzz;
using SharpFuzz;

// cybercoop-fuzz TARGET                 run TARGET under afl-fuzz (input on standard input, SharpFuzz's forkserver)
// cybercoop-fuzz replay TARGET PATH...  run TARGET once over each file (or every file of each folder) without afl-fuzz;
//                                       exit 1 on the first input that breaks the target's contract
// cybercoop-fuzz seeds DIR              write the generated seeds (keys, certificates, trust bundles, envelopes) and the
//                                       fixtures the crypto targets load (CYBERCOOP_FUZZ_FIXTURES=DIR/fixtures)
// cybercoop-fuzz list                   the target names
if (args.Length == 1 && args[0] == "list")
{
    Console.WriteLine(string.Join('\n', FuzzTargets.Names));
    return 0;
}

if (args.Length == 2 && args[0] == "seeds")
{
    Seeds.Write(args[1]);
    return 0;
}

if (args.Length >= 3 && args[0] == "replay")
{
    var target = FuzzTargets.Find(args[1]);
    var files = args[2..].SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal);
    var count = 0;
    foreach (var file in files)
    {
        try
        {
            target(File.ReadAllBytes(file));
            count++;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"{file}: {ex}");
            return 1;
        }
    }

    Console.WriteLine($"{args[1]}: {count} inputs, none broke the contract");
    return 0;
}

if (args.Length == 1 && FuzzTargets.Names.Contains(args[0]))
{
    var target = FuzzTargets.Find(args[0]);
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target(buffer.ToArray());
    });
    return 0;
}

Console.Error.WriteLine("usage: cybercoop-fuzz TARGET | replay TARGET PATH... | seeds DIR | list");
Console.Error.WriteLine("targets: " + string.Join(", ", FuzzTargets.Names));
return 2;
