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

    /// <summary>
    /// A full-page screenshot named <paramref name="name"/>.png in <c>$CYBERCOOP_CONSOLE_SCREENSHOTS</c> (docs/console when
    /// docs/console/update-screenshots.sh runs the tests), else in the test output folder.
    /// </summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var directory = Environment.GetEnvironmentVariable("CYBERCOOP_CONSOLE_SCREENSHOTS");
        var path = Path.Combine(string.IsNullOrEmpty(directory) ? Path.Combine(AppContext.BaseDirectory, "screenshots") : directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 1000, $"screenshot {path} is empty");
    }
}
