using Microsoft.Playwright;

namespace CyberCoop.Console.Tests;

/// <summary>
/// The distribution's headless Chromium driven by Playwright. Never downloads a browser: when /usr/bin/chromium is
/// missing the tests fail and say how to install it (.ci/run installs it when absent).
/// </summary>
internal static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Chromium is not installed at {ExecutablePath}: the console's browser tests need it. Install it with " +
                "'apt-get update && apt-get install -y chromium' (.ci/run does this when it is absent); Playwright never downloads a browser here.");
        }

        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-dev-shm-usage"],
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
