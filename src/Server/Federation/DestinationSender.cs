using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Federation;

/// <summary>
/// The outbox of one destination server and the loop that empties it. The outbox has two parts, both durable:
/// proposals of local users to rooms the destination hosts (rows in <c>fed_outbox</c>), and the rooms hosted here in
/// which the destination participates (a cursor per room in <c>fed_cursors</c>; the events above it are read from the
/// room log, so catching up after any outage is a range read). One transaction at a time carries both; it is retried
/// verbatim, with the same id, until the destination answers, with exponential backoff and jitter between attempts.
/// </summary>
internal sealed partial class DestinationSender
{
    // A transaction body stays well under the 16 MiB every implementation accepts.
    private const int MaxTransactionBytes = 8 * 1024 * 1024;

    private readonly FederationSenders _owner;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, long> _dirty = []; // roomKey → generation of the last mark
    private readonly Dictionary<long, long> _cursors = [];
    private readonly Queue<long> _attemptTimes = new();
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _generation;
    private bool _outboxDirty = true;
    private bool _heldAudited;
    private Pending? _inFlight;
    private int _txnCounter;

    public DestinationSender(string destination, FederationSenders owner)
    {
        Destination = destination;
        _owner = owner;
    }

    public string Destination { get; }

    public int Failures { get; private set; }
    public long? NextAttemptAt { get; private set; }
    public string? LastError { get; private set; }
    public long? LastSuccessAt { get; private set; }
    public long Attempts { get; private set; }
    public long Transactions { get; private set; }
    public long EventsSent { get; private set; }
    public long ProposalsSent { get; private set; }
    public bool Held { get; private set; }

    /// <summary>True while the destination is failing and the sender waits to retry.</summary>
    public bool BackingOff => Failures > 0;

    public Task? Loop { get; set; }

    /// <summary>New events in a room hosted here that the destination participates in.</summary>
    public void MarkDirty(long roomKey)
    {
        lock (_lock)
        {
            _dirty[roomKey] = ++_generation;
        }
        Signal();
    }

    /// <summary>New proposals in the outbox.</summary>
    public void OutboxChanged()
    {
        lock (_lock)
        {
            _outboxDirty = true;
        }
        Signal();
    }

    public void Signal()
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            signal = _signal;
        }
        signal.TrySetResult();
    }

    public DestinationStatus Snapshot()
    {
        lock (_lock)
        {
            return new DestinationStatus(Destination, !Held, _dirty.Count, Failures, NextAttemptAt, LastError, LastSuccessAt, Attempts,
                Transactions, EventsSent, ProposalsSent, [.. _attemptTimes]);
        }
    }

    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Task wake;
            lock (_lock)
            {
                if (_signal.Task.IsCompleted)
                {
                    _signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                wake = _signal.Task;
            }
            bool more;
            try
            {
                more = await PumpAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A bug or a storage failure: log it, back off, and keep the destination's loop alive.
                LogSenderFault(_owner.Logger, ex, Destination);
                more = true;
                try
                {
                    await BackoffAsync("internal error: " + ex.Message, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            if (!more)
            {
                try
                {
                    await wake.WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Sends one transaction if there is work. False when there was nothing to send.</summary>
    private async Task<bool> PumpAsync(CancellationToken ct)
    {
        if (!_owner.Partners.IsPartner(Destination))
        {
            Held = true;
            if (!_heldAudited && (_inFlight is not null || HasWork()))
            {
                _heldAudited = true;
                _owner.Audit.Record(new FederationAuditEntry(_owner.Now(), FederationAuditKinds.UnlistedDestination, Destination,
                    "outbox held: the destination is not a partner (nothing is sent until it is listed again)"));
            }
            _owner.NotifyChanged();
            return false; // woken again when the partner table changes
        }
        Held = false;
        _heldAudited = false;
        var pending = _inFlight ??= Build();
        if (pending is null)
        {
            _owner.NotifyChanged(); // caught up: observers waiting for an empty outbox re-check
            return false;
        }
        Attempts++;
        lock (_lock)
        {
            _attemptTimes.Enqueue(_owner.Now());
            while (_attemptTimes.Count > 200)
            {
                _attemptTimes.Dequeue();
            }
        }
        _owner.NotifyChanged();
        TransactionResult result;
        try
        {
            result = await _owner.Client.SendTransactionAsync(Destination, pending.Transaction, ct).ConfigureAwait(false);
        }
        catch (FederationException ex) when (!ct.IsCancellationRequested)
        {
            await BackoffAsync(ex.Message, ct).ConfigureAwait(false);
            return true;
        }
        var problem = await ApplyAsync(pending, result).ConfigureAwait(false);
        _inFlight = null;
        Transactions++;
        EventsSent += pending.Rooms.Sum(r => r.To - r.From + 1);
        ProposalsSent += pending.Transaction.Proposals.Count;
        LastSuccessAt = _owner.Now();
        if (problem is not null)
        {
            await BackoffAsync(problem, ct).ConfigureAwait(false);
            return true;
        }
        Failures = 0;
        LastError = null;
        _owner.NotifyChanged();
        return true;
    }

    private bool HasWork()
    {
        lock (_lock)
        {
            return _dirty.Count > 0 || _outboxDirty;
        }
    }

    private async Task BackoffAsync(string error, CancellationToken ct)
    {
        Failures++;
        LastError = error;
        var delay = Backoff.Delay(Failures, _owner.Options.RetryBase, _owner.Options.RetryMax, Random.Shared.NextDouble());
        var now = _owner.Now();
        // The timer is armed before anyone is told when the next attempt is due: a watcher that moves the clock to that
        // moment as soon as it is told (a test's fake clock) must find the timer already counting from `now`.
        var wait = Task.Delay(delay, _owner.Time, ct);
        NextAttemptAt = now + (long)delay.TotalMilliseconds;
        LogRetry(_owner.Logger, Destination, Failures, delay.TotalSeconds, error);
        _owner.NotifyChanged();
        await wait.ConfigureAwait(false);
        NextAttemptAt = null;
    }

    // ---- building a transaction ----------------------------------------------------------------------------------

    private sealed record RoomRange(long RoomKey, string RoomId, long From, long To);

    private sealed record Pending(FederationTransaction Transaction, long LastOutboxSeq, IReadOnlyList<RoomRange> Rooms);

    private Pending? Build()
    {
        var options = _owner.Options;
        var proposals = new List<ProposalItem>();
        long lastOutboxSeq = 0;
        bool outboxDirty;
        lock (_lock)
        {
            outboxDirty = _outboxDirty;
            _outboxDirty = false;
        }
        var bytes = 0L;
        var full = false;
        if (outboxDirty)
        {
            foreach (var (seq, entry) in _owner.Store.ReadOutbox(Destination, options.MaxProposalsPerTransaction))
            {
                if (bytes + entry.Length > MaxTransactionBytes / 2 && proposals.Count > 0)
                {
                    full = true; // large contents: the rest goes in the next transaction
                    break;
                }
                try
                {
                    proposals.Add(SignUnsigned(ProposalItem.Read(entry)));
                    bytes += entry.Length;
                }
                catch (ProtocolException ex)
                {
                    LogBadOutboxEntry(_owner.Logger, Destination, seq, ex.Message); // cannot happen unless storage is damaged: skip it
                }
                lastOutboxSeq = seq;
            }
            if (full || proposals.Count == options.MaxProposalsPerTransaction)
            {
                lock (_lock)
                {
                    _outboxDirty = true; // more after this transaction
                }
            }
        }
        var rooms = new List<RoomBatch>();
        var ranges = new List<RoomRange>();
        var budget = options.MaxEventsPerTransaction;
        List<KeyValuePair<long, long>> dirty;
        lock (_lock)
        {
            dirty = [.. _dirty];
        }
        foreach (var (roomKey, generation) in dirty)
        {
            if (budget <= 0 || bytes >= MaxTransactionBytes)
            {
                break;
            }
            var batch = BuildRoom(roomKey, Math.Min(budget, options.MaxEventsPerBatch), out var range, ref bytes);
            if (batch is null)
            {
                lock (_lock)
                {
                    if (_dirty.TryGetValue(roomKey, out var current) && current == generation)
                    {
                        _dirty.Remove(roomKey); // nothing to send and not marked again meanwhile
                    }
                }
                continue;
            }
            rooms.Add(batch);
            ranges.Add(range!);
            budget -= batch.Events.Count;
        }
        if (proposals.Count == 0 && rooms.Count == 0)
        {
            return null;
        }
        var id = $"{_owner.InstanceId}.{++_txnCounter}";
        var txn = new FederationTransaction(id, _owner.ServerName, Destination, _owner.Now(), proposals, rooms);
        return new Pending(txn, lastOutboxSeq, ranges);
    }

    /// <summary>
    /// An outbox entry written from the cluster log is stored unsigned (every node writes the same bytes, whichever key
    /// ring it has adopted): the sender signs it now, with the cluster's current key and the send time. The nonce is
    /// the entry's, so a resend after a lease hand-over is still the same proposal to the hub.
    /// </summary>
    private ProposalItem SignUnsigned(ProposalItem item)
    {
        if (!item.Origin.IsUnsigned)
        {
            return item;
        }
        var now = _owner.Now();
        var hash = System.Security.Cryptography.SHA256.HashData(item.Content);
        var (keyId, sig) = _owner.Keys.Sign(OriginSignature.SigningInput(EventCodec.CurrentVersion, item.RoomId, item.Sender, item.Type, hash, now, item.Origin.Nonce));
        return item with { Origin = new OriginSignature(keyId, now, item.Origin.Nonce, sig) };
    }

    private RoomBatch? BuildRoom(long roomKey, int maxEvents, out RoomRange? range, ref long bytes)
    {
        range = null;
        var room = _owner.Rooms.Get(roomKey);
        if (room is null)
        {
            return null;
        }
        var view = room.View;
        var servers = RoomParticipation.Servers(view.State, _owner.ServerName);
        if (!servers.TryGetValue(Destination, out var info))
        {
            return null;
        }
        var end = info.Participates ? view.Head.Seq : Math.Min(view.Head.Seq, info.LastMembershipSeq);
        if (!_cursors.TryGetValue(roomKey, out var cursor))
        {
            cursor = _owner.Store.GetCursor(Destination, roomKey) ?? 0;
            _cursors[roomKey] = cursor;
        }
        if (cursor >= end)
        {
            return null;
        }
        var stored = _owner.Events.ReadRange(roomKey, cursor + 1, Math.Min(end, cursor + maxEvents), forward: true, limit: maxEvents);
        if (stored.Count == 0)
        {
            return null;
        }
        var wires = new List<ReadOnlyMemory<byte>>(stored.Count);
        foreach (var s in stored)
        {
            var wire = s.Wire;
            // Decoding an event only to learn its type is the expensive part: skip it where all content is visible.
            wires.Add(info.ContentVisible(s.Seq) || info.ContentVisible(s.Seq, EventCodec.Read(wire).Type) ? wire : RoomParticipation.StripContent(wire));
            bytes += wire.Length;
            if (bytes >= MaxTransactionBytes)
            {
                break;
            }
        }
        var last = EventCodec.Read(wires[^1]);
        var now = _owner.Now();
        var (keyId, sig) = _owner.Keys.Sign(Checkpoint.SigningInput(room.RoomId, last.Seq, last.Id, now));
        range = new RoomRange(roomKey, room.RoomId, cursor + 1, last.Seq);
        return new RoomBatch(room.RoomId, wires, new Checkpoint(room.RoomId, last.Seq, last.Id, now, keyId, sig));
    }

    // ---- applying the answer -------------------------------------------------------------------------------------

    /// <summary>
    /// Records what the destination accepted. Returns a problem description when something must be retried. On a
    /// single node the rows are written here; in cluster mode (<see cref="FederationSenders.Progress"/>) the progress goes
    /// through the log, so that every node holds the same outbox position and cursors.
    /// </summary>
    private async Task<string?> ApplyAsync(Pending pending, TransactionResult result)
    {
        string? problem = null;
        var answers = result.Proposals.ToDictionary(p => p.Nonce, StringComparer.Ordinal);
        var allAnswered = true;
        var refused = new List<FederationRefusal>();
        foreach (var p in pending.Transaction.Proposals)
        {
            if (!answers.TryGetValue(p.Origin.Nonce, out var answer))
            {
                allAnswered = false;
                continue;
            }
            if (!answer.Ok)
            {
                var code = ErrorCodes.TryParse(answer.Error!, out var parsed) ? parsed : ErrorCode.Forbidden;
                refused.Add(new FederationRefusal(p.Origin.Nonce, code, $"{Destination}: {answer.Message}"));
            }
            // An ordered proposal's waiter completes when the event arrives in the hub's push and is stored here, so
            // that a client acknowledged for a send or a join finds it in this server's copy of the room.
        }
        long outboxThrough = 0;
        if (pending.LastOutboxSeq > 0)
        {
            if (allAnswered)
            {
                outboxThrough = pending.LastOutboxSeq;
            }
            else
            {
                problem = "the destination did not answer every proposal";
                OutboxChanged();
            }
        }
        var cursors = new List<FederationCursor>();
        var roomAnswers = result.Rooms.GroupBy(r => r.RoomId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        foreach (var range in pending.Rooms)
        {
            if (!roomAnswers.TryGetValue(range.RoomId, out var answer) || !answer.Ok)
            {
                problem = answer is null ? $"no answer for {range.RoomId}" : $"{range.RoomId} refused: {answer.Error}: {answer.Message}";
                LogBatchRefused(_owner.Logger, Destination, range.RoomId, answer?.Error ?? "none", answer?.Message ?? "");
                MarkDirty(range.RoomKey);
                continue;
            }
            // The destination reports its head: normally the end of the batch, lower when it is missing earlier events
            // (then the next transaction resends from there).
            var cursor = Math.Clamp(answer.Head, 0, range.To);
            cursors.Add(new FederationCursor(range.RoomKey, cursor));
            _cursors[range.RoomKey] = cursor;
            MarkDirty(range.RoomKey);
        }
        if (_owner.Progress is { } progress)
        {
            if (outboxThrough > 0 || cursors.Count > 0 || refused.Count > 0)
            {
                var outcome = await progress(new FederationProgressProposal(Destination, outboxThrough, cursors, refused)).ConfigureAwait(false);
                if (!outcome.Ok)
                {
                    // Delivered but not recorded: the entries are sent again later, which the destination deduplicates.
                    OutboxChanged();
                    return $"recording the delivery failed: {outcome.Message}";
                }
            }
            return problem;
        }
        foreach (var r in refused)
        {
            if (_owner.Store.GetPending(r.Nonce) is { } record)
            {
                _owner.Store.DeletePending(record);
            }
            _owner.Forwards.Complete(r.Nonce, ForwardResult.Refused(r.Code, r.Message));
        }
        if (outboxThrough > 0)
        {
            _owner.Store.DeleteOutbox(Destination, outboxThrough);
        }
        foreach (var c in cursors)
        {
            _owner.Store.PutCursor(Destination, c.RoomKey, c.Seq);
        }
        return problem;
    }

    [LoggerMessage(EventId = 7301, Level = LogLevel.Information, Message = "Federation to {Destination}: failure {Failures}, retrying in {Seconds:0.0} s: {Error}")]
    private static partial void LogRetry(ILogger logger, string destination, int failures, double seconds, string error);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Warning, Message = "{Destination} refused the batch of {Room}: {Code}: {Message}")]
    private static partial void LogBatchRefused(ILogger logger, string destination, string room, string code, string message);

    [LoggerMessage(EventId = 7303, Level = LogLevel.Error, Message = "Federation sender to {Destination} failed")]
    private static partial void LogSenderFault(ILogger logger, Exception ex, string destination);

    [LoggerMessage(EventId = 7304, Level = LogLevel.Error, Message = "Unreadable outbox entry {Seq} for {Destination}: {Reason}")]
    private static partial void LogBadOutboxEntry(ILogger logger, string destination, long seq, string reason);
}

/// <summary>The state of one destination, for admins and tests.</summary>
internal sealed record DestinationStatus(string Server, bool Sending, int DirtyRooms, int Failures, long? NextAttemptAt, string? LastError,
    long? LastSuccessAt, long Attempts, long Transactions, long EventsSent, long ProposalsSent, IReadOnlyList<long> RecentAttempts);
