using CyberCoop.Agent.Parsing;
using CyberCoop.Agent.Tailing;

namespace CyberCoop.Agent.Tests.Tailing;

public sealed class SourceTailerTests
{
    [Fact]
    public async Task Line_written_in_two_pieces_is_read_once_whole()
    {
        using var dir = new TempDirectory();
        var path = dir.File("feed.jsonl");
        var line = TailHarness.Line(1);
        File.WriteAllText(path, line[..7]);
        using var tail = new TailHarness(path);

        await tail.PollAsync();
        Assert.Empty(tail.Values);

        TailHarness.Append(path, line[7..]);
        await tail.PollAsync();

        Assert.Equal([TailHarness.Value(1)], tail.Values);
        Assert.Equal(0, tail.Tailer.Diagnostics.SkippedCount);
        Assert.Equal(line.Length, Assert.Single(tail.Checkpoints.Values).Offset);
    }

    [Fact]
    public async Task Restart_in_the_middle_of_a_file_neither_repeats_nor_skips_lines()
    {
        using var dir = new TempDirectory();
        var path = dir.File("feed.jsonl");
        File.WriteAllText(path, TailHarness.Lines(1, 5) + TailHarness.Line(6)[..5]);
        Dictionary<string, FileCheckpoint> saved;
        using (var first = new TailHarness(path))
        {
            await first.PollAsync();
            Assert.Equal(TailHarness.Range(1, 5), first.Values);
            saved = first.Checkpoints;
        }

        TailHarness.Append(path, TailHarness.Line(6)[5..] + TailHarness.Lines(7, 9));
        using var second = new TailHarness(path, known: saved);
        await second.PollAsync();

        Assert.Equal(TailHarness.Range(6, 9), second.Values);
        Assert.Equal(9, Assert.Single(second.Checkpoints.Values).Line);
    }

    [Fact]
    public async Task Rename_rotation_finishes_the_old_file_after_the_grace_then_reads_the_new_one()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.jsonl");
        File.WriteAllText(path, TailHarness.Lines(1, 3));
        using var tail = new TailHarness(path);
        await tail.PollAsync();

        File.Move(path, path + ".1");
        TailHarness.Append(path + ".1", TailHarness.Lines(4, 5)); // the writer had not reopened yet
        File.WriteAllText(path, TailHarness.Lines(6, 8));
        await tail.PollAsync(3);
        Assert.Empty(tail.Finished);
        tail.Time.Advance(TimeSpan.FromSeconds(30));
        await tail.PollAsync(2);

        Assert.Equal(TailHarness.Range(1, 8).Order(), tail.Values.Order());
        Assert.Equal(8, tail.Values.Count);
        var finished = Assert.Single(tail.Finished);
        Assert.Equal(new FileInfo(path + ".1").Length, finished.Offset);
        Assert.Single(tail.Checkpoints);
    }

    [Fact]
    public async Task Lines_the_sensor_writes_to_its_old_handle_after_a_rename_are_read_once_and_the_new_file_too()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.json");
        // The sensor's own handle, opened before the rotation and kept until its postrotate SIGHUP.
        using var sensor = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        Write(sensor, TailHarness.Lines(1, 3));
        using var tail = new TailHarness(path);
        await tail.PollAsync();

        File.Move(path, path + ".2"); // logrotate: mv eve.json eve.json.2
        await tail.PollAsync();
        Write(sensor, TailHarness.Lines(4, 5)); // Suricata has not reopened yet
        tail.Time.Advance(TimeSpan.FromSeconds(20));
        await tail.PollAsync();
        File.WriteAllText(path, TailHarness.Lines(101, 102)); // a new eve.json appears (another writer, or `create`)
        tail.Time.Advance(TimeSpan.FromSeconds(25));
        Write(sensor, TailHarness.Lines(6, 7)); // 45 s after the rename, still to the old file
        await tail.PollAsync();
        tail.Time.Advance(TimeSpan.FromSeconds(29));
        Write(sensor, "{\"v\":\"198.51.0.9\"}"); // a last line without '\n' when the sensor closes (SIGHUP)
        await tail.PollAsync(2);
        Assert.Empty(tail.Finished);
        tail.Time.Advance(TimeSpan.FromSeconds(30));
        await tail.PollAsync(2);

        Assert.Equal(TailHarness.Range(1, 8), tail.Values.Where(v => Order(v) <= 9)); // the old file, in order, once each
        Assert.Equal([.. TailHarness.Range(1, 8), .. TailHarness.Range(101, 102)], tail.Values.OrderBy(Order));
        Assert.Equal(10, tail.Values.Count);
        var finished = Assert.Single(tail.Finished);
        Assert.Equal(new FileInfo(path + ".2").Length, finished.Offset);

        // Lines the new file gets later are still followed.
        TailHarness.Append(path, TailHarness.Lines(103, 103));
        await tail.PollAsync();
        Assert.Equal(11, tail.Values.Count);
        Assert.Equal(TailHarness.Value(103), tail.Values[^1]);
    }

    [Fact]
    public async Task Rotated_file_is_kept_open_while_no_new_file_exists_however_long_it_is_idle()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.json");
        using var sensor = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        Write(sensor, TailHarness.Lines(1, 2));
        using var tail = new TailHarness(path);
        await tail.PollAsync();

        File.Move(path, path + ".1");
        tail.Time.Advance(TimeSpan.FromHours(1));
        await tail.PollAsync(2);
        Assert.Empty(tail.Finished);
        Write(sensor, TailHarness.Lines(3, 4));
        await tail.PollAsync();
        File.WriteAllText(path, TailHarness.Lines(5, 5));
        await tail.PollAsync();
        Assert.Empty(tail.Finished); // the old file changed just now: the grace starts again
        tail.Time.Advance(TimeSpan.FromSeconds(30));
        await tail.PollAsync(2);

        Assert.Single(tail.Finished);
        Assert.Equal(TailHarness.Range(1, 5), tail.Values.OrderBy(Order));
        Assert.Equal(5, tail.Values.Count);
    }

    [Fact]
    public async Task Zero_grace_lets_a_rotated_file_go_once_it_is_read_and_a_new_file_exists()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.json");
        File.WriteAllText(path, TailHarness.Lines(1, 2));
        using var tail = new TailHarness(path, rotationGrace: TimeSpan.Zero);
        await tail.PollAsync();

        File.Move(path, path + ".1");
        TailHarness.Append(path + ".1", TailHarness.Lines(3, 3));
        File.WriteAllText(path, TailHarness.Lines(4, 4));
        await tail.PollAsync(3);

        Assert.Single(tail.Finished);
        Assert.Equal(TailHarness.Range(1, 4), tail.Values.OrderBy(Order));
    }

    private static int Order(string value)
    {
        var parts = value.Split('.');
        return (int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) * 250) + int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Write(FileStream sensor, string text)
    {
        sensor.Write(System.Text.Encoding.UTF8.GetBytes(text));
        sensor.Flush();
    }

    [Fact]
    public async Task Copy_truncate_rotation_reads_the_new_content_from_the_start_without_repeating_the_old()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.jsonl");
        File.WriteAllText(path, TailHarness.Lines(1, 20));
        using var tail = new TailHarness(path);
        await tail.PollAsync();

        File.Copy(path, path + ".1");
        using (new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite))
        {
        }

        TailHarness.Append(path, TailHarness.Lines(21, 22));
        await tail.PollAsync(2);

        Assert.Equal(TailHarness.Range(1, 22), tail.Values);
    }

    [Fact]
    public async Task File_replaced_under_the_same_identity_is_read_from_the_start()
    {
        using var dir = new TempDirectory();
        var path = dir.File("feed.jsonl");
        File.WriteAllText(path, TailHarness.Lines(1, 3));
        Dictionary<string, FileCheckpoint> saved;
        using (var first = new TailHarness(path))
        {
            await first.PollAsync();
            saved = first.Checkpoints;
        }

        // Same inode, different first bytes: an inode reused by a new file.
        File.WriteAllText(path, TailHarness.Lines(11, 14));
        using var second = new TailHarness(path, known: saved);
        await second.PollAsync();

        Assert.Equal(TailHarness.Range(11, 14), second.Values);
    }

    [Fact]
    public async Task Wildcard_source_follows_every_matching_file_once()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("a.jsonl"), TailHarness.Lines(1, 2));
        File.WriteAllText(dir.File("b.jsonl"), TailHarness.Lines(3, 4));
        File.WriteAllText(dir.File("c.txt"), TailHarness.Lines(5, 6));
        using var tail = new TailHarness(dir.File("*.jsonl"));

        await tail.PollAsync(2);
        File.WriteAllText(dir.File("d.jsonl"), TailHarness.Lines(7, 7));
        await tail.PollAsync(2);

        Assert.Equal(TailHarness.Range(1, 4).Append(TailHarness.Value(7)).Order(), tail.Values.Order());
    }

    [Fact]
    public async Task Start_at_end_skips_existing_content_but_reads_what_is_appended()
    {
        using var dir = new TempDirectory();
        var path = dir.File("feed.jsonl");
        File.WriteAllText(path, TailHarness.Lines(1, 3));
        using var tail = new TailHarness(path, startAtEnd: true);

        await tail.PollAsync();
        TailHarness.Append(path, TailHarness.Lines(4, 4));
        await tail.PollAsync();

        Assert.Equal([TailHarness.Value(4)], tail.Values);
    }

    [Fact]
    public async Task Zeek_tsv_resumed_mid_file_still_knows_its_header()
    {
        using var dir = new TempDirectory();
        var path = dir.File("notice.log");
        var header = "#separator \\x09\n#path\tnotice\n#fields\tts\tsrc\tdst\tnote\tmsg\n#types\ttime\taddr\taddr\tenum\tstring\n";
        File.WriteAllText(path, header + "1700000000.0\t198.51.100.1\t10.0.0.1\tScan::Port_Scan\tscan\n");
        Dictionary<string, FileCheckpoint> saved;
        using (var first = new TailHarness(path, SourceFormat.Zeek))
        {
            await first.PollAsync();
            Assert.Equal(["198.51.100.1"], first.Values);
            saved = first.Checkpoints;
        }

        TailHarness.Append(path, "1700000001.0\t198.51.100.2\t10.0.0.1\tScan::Port_Scan\tscan\n");
        using var second = new TailHarness(path, SourceFormat.Zeek, saved);
        await second.PollAsync();

        Assert.Equal(["198.51.100.2"], second.Values);
        Assert.Equal(0, second.Tailer.Diagnostics.SkippedCount);
    }

    [Fact]
    public async Task Stix_file_is_parsed_once_when_stable_and_not_again_after_restart()
    {
        using var dir = new TempDirectory();
        var path = dir.File("feed.json");
        File.WriteAllText(path, """{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","id":"indicator--1","pattern_type":"stix","pattern":"[domain-name:value = 'evil.example']","valid_from":"2024-01-01T00:00:00Z"}]}""");
        Dictionary<string, FileCheckpoint> saved;
        using (var first = new TailHarness(path, SourceFormat.Stix))
        {
            await first.PollAsync(3);
            Assert.Equal(["evil.example"], first.Values);
            saved = first.Checkpoints;
        }

        using var second = new TailHarness(path, SourceFormat.Stix, saved);
        await second.PollAsync(3);

        Assert.Empty(second.Values);
    }

    [Fact]
    public async Task Over_long_line_growing_across_polls_is_skipped_once_with_its_line_number()
    {
        using var dir = new TempDirectory();
        var path = dir.File("feed.jsonl");
        File.WriteAllText(path, TailHarness.Line(1) + "{\"v\":\"" + new string('x', 3000));
        using var tail = new TailHarness(path, maxLineBytes: 2048);
        await tail.PollAsync();

        TailHarness.Append(path, new string('x', 3000) + "\"}\n" + TailHarness.Line(2));
        await tail.PollAsync();

        Assert.Equal([TailHarness.Value(1), TailHarness.Value(2)], tail.Values);
        var skipped = Assert.Single(tail.Tailer.Diagnostics.SkippedSamples);
        Assert.Equal(2, skipped.Line);
        Assert.Equal(new FileInfo(path).Length, Assert.Single(tail.Checkpoints.Values).Offset);
    }
}
