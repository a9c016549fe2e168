using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Attachments;
using TeamComms.Server.Audit;
using TeamComms.Server.Hosting;
using TeamComms.Server.Moderation;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace;

namespace TeamComms.Server.Retention;

/// <summary>
/// The retention job, driven by a <see cref="TimeProvider"/> timer (<see cref="WorkplaceOptions.RetentionInterval"/>).
/// For each room hosted here with a retention (its own <c>room.retention</c>, else the company's), it removes the content
/// of events older than that many days through the room log (<see cref="PurgeProposal"/>, in chunks), skipping what a
/// legal hold covers, and the last chunk appends <c>room.purge</c> with the audit entry. Rooms hosted elsewhere follow
/// their hub's <c>room.purge</c>. It also drops held originals once no hold covers them, and uploads no message claimed.
/// Runs happen only while this node holds the <c>retention</c> lease (<see cref="Activate"/>): on one node always; in
/// cluster mode on one node at a time, and a pass in flight on a node that loses the lease stops at the next room.
/// </summary>
internal sealed partial class RetentionService(
    IRoomLog log,
    RoomRegistry rooms,
    EventStore events,
    WorkplaceStore store,
    ContentPolicy policy,
    LegalHolds holds,
    AttachmentStore attachments,
    ContentCompactor compactor,
    AuditLog audit,
    ServerIdentity identity,
    IOptions<WorkplaceOptions> options,
    TimeProvider time,
    ILogger<RetentionService> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _trigger = new();
    private ITimer? _timer;
    private int _again;
    private volatile bool _stopped;
    private volatile bool _active;
    private Task _running = Task.CompletedTask;
    private long _runs;

    /// <summary>The singleton lease under which runs happen.</summary>
    public const string LeaseName = "retention";

    /// <summary>Completed runs since start.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Whether this node holds the lease, so that <see cref="Trigger"/> runs here.</summary>
    public bool Active => _active;

    /// <summary>This node took the lease: runs happen here from now on.</summary>
    public void Activate() => _active = true;

    /// <summary>This node lost the lease (or stops): no new runs; returns the pass in flight, which stops at its next room.</summary>
    public Task Deactivate()
    {
        _active = false;
        lock (_trigger)
        {
            return _running;
        }
    }

    public void Start()
    {
        var interval = options.Value.RetentionInterval;
        _timer = time.CreateTimer(_ => Trigger(), null, interval, interval);
        holds.Released += _ => Trigger();
    }

    /// <summary>Asks for a run soon (a follower purge arrived, a hold was released, the timer fired). Runs never overlap.</summary>
    public void Trigger()
    {
        if (_stopped || !_active)
        {
            return;
        }
        Interlocked.Exchange(ref _again, 1);
        lock (_trigger)
        {
            if (_running.IsCompleted)
            {
                _running = Task.Run(LoopAsync);
            }
        }
    }

    /// <summary>Completes when the runs asked for so far are done.</summary>
    public Task WhenIdleAsync()
    {
        lock (_trigger)
        {
            return _running;
        }
    }

    private async Task LoopAsync()
    {
        while (!_stopped && _active && Interlocked.Exchange(ref _again, 0) == 1)
        {
            try
            {
                await RunOnceAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _runs);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogRunFailed(logger, ex);
            }
        }
    }

    /// <summary>One pass over every room, then held content and unclaimed uploads.</summary>
    public async Task RunOnceAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var released = store.Holds().Where(h => h.Released && !h.Processed).ToList();
            var rescanAll = released.Any(h => h.Kind == LegalHolds.UserKind);
            var rescanRooms = released.Where(h => h.Kind == LegalHolds.RoomKind).Select(h => h.Target).ToHashSet(StringComparer.Ordinal);
            foreach (var room in rooms.All().ToList())
            {
                if (_stopped || !_active)
                {
                    return;
                }
                await PurgeRoomAsync(room, now, rescanAll || rescanRooms.Contains(room.RoomId)).ConfigureAwait(false);
            }
            if (released.Count > 0)
            {
                store.Write([.. released.Select(h => WorkplaceStore.PutHold(h with { Processed = true }))]);
            }
            await DropReleasedHeldContentAsync().ConfigureAwait(false);
            await attachments.CollectAsync(now - (long)options.Value.UnclaimedAttachmentLifetime.TotalMilliseconds, holds).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task PurgeRoomAsync(Room room, long now, bool rescan)
    {
        var view = room.View;
        var w = view.State.Workplace;
        if (Identifiers.ServerOf(room.RoomId) != identity.ServerName)
        {
            // A copy of a room hosted elsewhere follows its hub's purges (subject to this server's holds).
            if (w.PurgeWanted > w.PurgedThrough || (rescan && w.PurgedThrough > 0))
            {
                await PurgeRangeAsync(room, rescan ? 0 : w.PurgedThrough, Math.Max(w.PurgeWanted, w.PurgedThrough), 0, []).ConfigureAwait(false);
            }
            return;
        }
        var days = w.RetentionDays > 0 ? w.RetentionDays : policy.Current.RetentionDays;
        if (days <= 0 || holds.IsHeld(room.RoomId, ""))
        {
            return;
        }
        var before = now - (days * 86_400_000L);
        var through = LastSeqBefore(room.Key, view.Head.Seq, before);
        var from = rescan ? 0 : w.PurgedThrough;
        if (through <= from)
        {
            return;
        }
        var details = new Dictionary<string, string>
        {
            ["through_seq"] = through.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["before"] = DateTimeOffset.FromUnixTimeMilliseconds(before).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["days"] = days.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["from_seq"] = (from + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await PurgeRangeAsync(room, from, through, before, [Principal.System.Event("retention.purge", room.RoomId, details)]).ConfigureAwait(false);
        LogPurged(logger, room.RoomId, through, days);
    }

    /// <summary>Removes content in (<paramref name="after"/>, <paramref name="through"/>] in chunks; the last chunk records it (and its audit entry).</summary>
    private async Task PurgeRangeAsync(Room room, long after, long through, long before, IReadOnlyList<AuditEvent> auditEvents)
    {
        var chunk = options.Value.PurgeChunk;
        for (var from = after; from < through; from += chunk)
        {
            var to = Math.Min(from + chunk, through);
            var final = to >= through;
            if (final && auditEvents.Count > 0)
            {
                var (_, outcome) = await audit.RecordWithAsync(auditEvents, async writes =>
                {
                    var o = await log.AppendAsync(new PurgeProposal(room.Key, from, to, before, true, writes)).ConfigureAwait(false);
                    return (o.Ok, o);
                }).ConfigureAwait(false);
                Check(outcome, room);
            }
            else
            {
                Check(await log.AppendAsync(new PurgeProposal(room.Key, from, to, before, final, [])).ConfigureAwait(false), room);
            }
        }
    }

    private static void Check(AppendOutcome outcome, Room room)
    {
        if (!outcome.Ok)
        {
            throw new InvalidOperationException($"purging {room.RoomId} failed: {outcome.Message}");
        }
    }

    /// <summary>The last seq whose timestamp is before <paramref name="before"/> (0 if none). Timestamps never decrease within a room.</summary>
    private long LastSeqBefore(long roomKey, long head, long before)
    {
        long lo = 0, hi = head;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo + 1) / 2);
            if (!events.TryGet(roomKey, mid, out var stored))
            {
                throw new InvalidDataException($"room {roomKey} has no event at seq {mid}");
            }
            if (EventCodec.Read(stored.Wire).Timestamp < before)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /// <summary>Originals kept under a hold that no longer covers them are deleted (and audited), then compacted away.</summary>
    private async Task DropReleasedHeldContentAsync()
    {
        foreach (var roomKey in store.RoomsWithHeldContent().ToList())
        {
            if (rooms.Get(roomKey) is not { } room)
            {
                continue;
            }
            var drop = new List<long>();
            foreach (var (seq, value) in store.Held(roomKey))
            {
                var sender = EventCodec.Read(new StoredEvent(seq, store.OpenHeld(roomKey, seq, value)).Wire).Sender;
                if (!holds.IsHeld(room.RoomId, sender))
                {
                    drop.Add(seq);
                }
            }
            if (drop.Count == 0)
            {
                continue;
            }
            await audit.RecordWithAsync([Principal.System.Event("retention.release_held", room.RoomId, new Dictionary<string, string>
            {
                ["count"] = drop.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            })], async writes =>
            {
                // Cluster mode: through the log, so every node drops the held originals, not only the lease holder.
                await audit.CommitAsync([.. writes, .. drop.Select(seq => StagedWrite.Delete("held_events", KeyCodec.RoomSeq(roomKey, seq)))], store.Write).ConfigureAwait(false);
                return (true, 0);
            }).ConfigureAwait(false);
            compactor.Request([roomKey]);
        }
    }

    public async Task StopAsync()
    {
        _stopped = true;
        _timer?.Dispose();
        Task running;
        lock (_trigger)
        {
            running = _running;
        }
        await running.ConfigureAwait(false);
    }

    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(EventId = 9111, Level = LogLevel.Information, Message = "Retention removed content of {Room} up to seq {Through} ({Days} days)")]
    private static partial void LogPurged(ILogger logger, string room, long through, int days);

    [LoggerMessage(EventId = 9112, Level = LogLevel.Error, Message = "A retention run failed; the next interval tries again")]
    private static partial void LogRunFailed(ILogger logger, Exception ex);
}
