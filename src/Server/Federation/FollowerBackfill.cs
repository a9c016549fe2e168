using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// After a local user joins a room hosted elsewhere whose history is visible to new members, fetches the content of
/// the earlier events this server holds without content, in pages from the hub. Each page must carry the hub's
/// checkpoint over its last event, and every event must have exactly the id already stored (which the chain verified)
/// and content matching its hash. Progress is durable (<c>federation['b' ‖ room]</c>), so a restart resumes.
/// </summary>
internal sealed partial class FollowerBackfill(FederationStore store, EventStore events, RoomRegistry rooms, FederationClient client, KeyCache keys,
    IServiceProvider services, IOptions<FederationOptions> options, TimeProvider time, ILogger<FollowerBackfill> logger) : IAsyncDisposable
{
    private readonly Channel<(long RoomKey, string RoomId)> _queue = Channel.CreateUnbounded<(long, string)>();
    private readonly CancellationTokenSource _stop = new();
    private Task? _worker;

    /// <summary>Completed backfill pages, for status and tests.</summary>
    public long PagesFetched => Interlocked.Read(ref _pages);
    private long _pages;

    public void Schedule(long roomKey, string roomId, long from, long to) => _queue.Writer.TryWrite((roomKey, roomId));

    public void Start()
    {
        foreach (var (roomKey, _, _) in store.Backfills())
        {
            if (rooms.Get(roomKey) is { } room)
            {
                _queue.Writer.TryWrite((roomKey, room.RoomId));
            }
        }
        _worker = Task.Run(() => RunAsync(_stop.Token));
    }

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var (roomKey, roomId) in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var failures = 0;
                while (!ct.IsCancellationRequested)
                {
                    try
                    {
                        await BackfillAsync(roomKey, roomId, ct).ConfigureAwait(false);
                        break;
                    }
                    catch (Exception ex) when (ex is FederationException or ProtocolException or InvalidDataException)
                    {
                        failures++;
                        var delay = Backoff.Delay(failures, options.Value.RetryBase, options.Value.RetryMax, Random.Shared.NextDouble());
                        LogBackfillRetry(logger, roomId, delay.TotalSeconds, ex.Message);
                        await Task.Delay(delay, time, ct).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task BackfillAsync(long roomKey, string roomId, CancellationToken ct)
    {
        var row = store.Backfills().FirstOrDefault(b => b.RoomKey == roomKey);
        if (row.RoomKey == 0)
        {
            return; // done already
        }
        var (_, from, to) = row;
        var hub = Identifiers.ServerOf(roomId);
        var pageSize = options.Value.BackfillPageSize;
        var log = (IRoomLog)services.GetService(typeof(IRoomLog))!;
        while (from <= to)
        {
            // Skip what already has content.
            var stored = events.ReadRange(roomKey, from, to, forward: true, limit: pageSize);
            if (stored.Count == 0)
            {
                break;
            }
            var missing = stored.Where(s => EventCodec.Read(s.Wire).Content is null).Select(s => s.Seq).ToList();
            if (missing.Count == 0)
            {
                from = stored[^1].Seq + 1;
                store.UpdateBackfill(roomKey, from, to);
                continue;
            }
            var page = await client.GetEventsAsync(hub, roomId, missing[0], pageSize, ct).ConfigureAwait(false);
            var batch = page.Batch;
            if (batch.Events.Count == 0)
            {
                break;
            }
            var fills = new List<VerifiedEvent>();
            RoomEvent? last = null;
            foreach (var wire in batch.Events)
            {
                var e = EventCodec.Read(wire);
                if (e.RoomId != roomId || !EventCodec.Verify(e) || (last is not null && (e.Seq != last.Seq + 1 || e.Prev != last.Id)))
                {
                    throw new InvalidDataException($"backfill page of {roomId} from {hub} fails verification at seq {e.Seq}");
                }
                if (!events.TryGet(roomKey, e.Seq, out var mine) || EventCodec.Read(mine.Wire).Id != e.Id)
                {
                    throw new InvalidDataException($"backfill page of {roomId} from {hub} does not match the stored chain at seq {e.Seq}");
                }
                if (e.Content is not null)
                {
                    fills.Add(new VerifiedEvent(e, wire.ToArray()));
                }
                last = e;
            }
            if (batch.Checkpoint is not { } cp || cp.Seq != last!.Seq || cp.Head != last.Id
                || !await keys.VerifyAsync(hub, cp.KeyId, cp.Timestamp, cp.SigningInput(), cp.Signature, ct: ct).ConfigureAwait(false))
            {
                throw new InvalidDataException($"backfill page of {roomId} from {hub} has no valid checkpoint");
            }
            if (fills.Count > 0)
            {
                var outcome = await log.AppendAsync(new ContentFillProposal(roomId, fills)).ConfigureAwait(false);
                if (!outcome.Ok)
                {
                    throw new InvalidDataException($"storing backfilled content of {roomId} failed: {outcome.Message}");
                }
            }
            Interlocked.Increment(ref _pages);
            from = last.Seq + 1;
            store.UpdateBackfill(roomKey, from, to);
        }
        store.UpdateBackfill(roomKey, 1, 0);
        LogBackfilled(logger, roomId);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_worker is not null)
        {
            await _worker.ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    private int _disposed;

    [LoggerMessage(EventId = 7401, Level = LogLevel.Information, Message = "Backfill of {Room} failed, retrying in {Seconds:0.0} s: {Reason}")]
    private static partial void LogBackfillRetry(ILogger logger, string room, double seconds, string reason);

    [LoggerMessage(EventId = 7402, Level = LogLevel.Information, Message = "Backfilled the visible history of {Room}")]
    private static partial void LogBackfilled(ILogger logger, string room);
}
