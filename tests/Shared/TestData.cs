namespace CyberCoop.Testing;

/// <summary>
/// Locates the shared conformance data (<c>../shared/testdata</c> beside the repository).
/// Tests that need it call <see cref="RequireFolder"/>, which skips the test with the
/// reason when the folder is absent, instead of passing silently.
/// </summary>
internal static class TestData
{
    private static readonly Lazy<string?> s_root = new(FindRoot);

    /// <summary>The repository root (the folder holding CyberCoop.sln).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Absolute path of ../shared/testdata, or null when it is absent.</summary>
    public static string? Root => s_root.Value;

    /// <summary>Returns the absolute path of a sub-folder of testdata, or skips the current test.</summary>
    public static string RequireFolder(string relative)
    {
        var root = Root;
        var path = root is null ? null : Path.Combine(root, relative);
        if (path is null || !(Directory.Exists(path) || File.Exists(path)))
        {
            Xunit.Assert.Skip($"shared test data '{relative}' not found (expected ../shared/testdata beside the repository at {RepositoryRoot})");
        }

        return path!;
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

    private static string? FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("CYBERCOOP_TESTDATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }

        var candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "testdata"));
        return Directory.Exists(candidate) ? candidate : null;
    }
}
