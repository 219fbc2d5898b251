namespace CyberCoop.Gateway.Cli;

/// <summary>
/// The exclusive <c>&lt;file&gt;.lock</c> that operator commands hold while they read, change and write a file, so two
/// operators (or scripts) changing the same file at once cannot lose each other's change. The lock file is deleted when
/// the returned stream is disposed. Callers choose how long to wait and what to tell the operator.
/// </summary>
internal static class EditLock
{
    /// <summary>
    /// Takes the lock of <paramref name="path"/>, retrying every <paramref name="retryDelay"/> for up to
    /// <paramref name="timeout"/> (counted in attempts, so the wait on another process needs no clock). <paramref name="missingFolder"/> (given the full path) is thrown when the file's
    /// folder does not exist, <paramref name="busy"/> (given the full path, the lock path and the last error) when
    /// the lock is still held at the deadline.
    /// </summary>
    public static async Task<FileStream> AcquireAsync(string path, TimeSpan timeout, TimeSpan retryDelay,
        Func<string, CliException> missingFolder, Func<string, string, IOException, CliException> busy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(missingFolder);
        ArgumentNullException.ThrowIfNull(busy);
        var full = Path.GetFullPath(path);
        var lockPath = full + ".lock";
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(retryDelay.Ticks, nameof(retryDelay));
        var retriesLeft = (long)Math.Ceiling(timeout / retryDelay);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (DirectoryNotFoundException)
            {
                throw missingFolder(full);
            }
            catch (IOException) when (retriesLeft-- > 0)
            {
                await Task.Delay(retryDelay, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw busy(full, lockPath, ex);
            }
        }
    }
}
