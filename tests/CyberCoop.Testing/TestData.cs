namespace CyberCoop.Testing;

/// <summary>
/// Locates the conformance vectors (<c>tests/vectors</c>) and real sensor samples (<c>tests/samples</c>) vendored
/// into the repository (origin and licence of each file in the SOURCES.md beside it). A missing file fails the test:
/// a clone of the repository alone runs every test, nothing is skipped.
/// </summary>
internal static class TestData
{
    /// <summary>The repository root (the folder holding CyberCoop.sln).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Absolute path of a file or folder under <c>tests/vectors</c>; fails when it is absent.</summary>
    public static string Vector(string relative) => Require(Path.Combine("tests", "vectors", relative));

    /// <summary>Absolute path of a file or folder under <c>tests/samples</c>; fails when it is absent.</summary>
    public static string Sample(string relative) => Require(Path.Combine("tests", "samples", relative));

    private static string Require(string relative)
    {
        var path = Path.Combine(RepositoryRoot, relative);
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            throw new FileNotFoundException($"test data '{relative}' is missing from the repository at {RepositoryRoot}", path);
        }

        return path;
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CyberCoop.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("CyberCoop.sln not found above " + AppContext.BaseDirectory);
    }
}
