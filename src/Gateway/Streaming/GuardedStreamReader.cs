using Grpc.Core;

namespace CyberCoop.Gateway.Streaming;

/// <summary>
/// A request stream that ends with PermissionDenied once its <see cref="LiveStream"/> is cut: a read that is
/// waiting is interrupted, and every message is checked before it is handed to the service.
/// </summary>
internal sealed class GuardedStreamReader<T>(IAsyncStreamReader<T> inner, LiveStream live) : IAsyncStreamReader<T>
{
    public T Current => inner.Current;

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        live.ThrowIfNotAllowed();
        bool more;
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, live.CutToken))
        {
            try
            {
                more = await inner.MoveNext(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (live.CutReason is not null && !cancellationToken.IsCancellationRequested)
            {
                more = false;
            }
        }

        live.ThrowIfNotAllowed();
        return more;
    }
}
