using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// What the room log needs from federation (implemented in Federation/): who may be invited from other servers,
/// signing proposals for rooms hosted elsewhere, waiting for their hub, and acting after a batch is durable.
/// </summary>
internal interface IRoomFederation
{
    /// <summary>Federation is switched on.</summary>
    bool Enabled { get; }

    FederationStore Store { get; }

    /// <summary>Null when a user of another server may be invited (its server is a partner); else the refusal, which is audited.</summary>
    (ErrorCode Code, string Message)? CheckRemoteUser(string userId);

    /// <summary>Signs the proposed fields of an event for its room's hub, at <paramref name="timestamp"/> (the sequencer's clock: the log's in cluster mode).</summary>
    OriginSignature SignProposal(string roomId, string sender, string type, ReadOnlySpan<byte> contentHash, string nonce, long timestamp);

    /// <summary>A handle on the hub's answer to a forwarded proposal (the same answer for the same nonce).</summary>
    ForwardedProposal Forwarded(string nonce, string hub);

    /// <summary>Drops a waiter whose proposal was never stored (its batch failed).</summary>
    void Forget(string nonce);

    /// <summary>Called on the sequencer thread after each durable batch with federation effects. Must not block.</summary>
    void AfterCommit(FederationBatchEffects effects);
}

/// <summary>The hub's answer to a forwarded proposal.</summary>
internal sealed record ForwardResult(ErrorCode? Error, string? Message, long Seq, EventId Id, long Timestamp)
{
    public bool Ok => Error is null;

    public static ForwardResult Ordered(long seq, EventId id, long ts) => new(null, null, seq, id, ts);

    public static ForwardResult Refused(ErrorCode code, string message) => new(code, message, 0, default, 0);
}

/// <summary>A proposal queued for the room's hub on another server, and how long callers wait for it.</summary>
internal sealed class ForwardedProposal(string nonce, string hub, Task<ForwardResult> result, TimeProvider time, TimeSpan pendingNotice,
    TimeSpan callTimeout, bool hubFailing)
{
    public string Nonce { get; } = nonce;
    public string Hub { get; } = hub;

    /// <summary>Completes when the hub has ordered or refused the proposal.</summary>
    public Task<ForwardResult> Result { get; } = result;

    /// <summary>
    /// Waits briefly for the hub (not at all while it is known to be failing). True when it answered; false when the
    /// client should be told the send is pending.
    /// </summary>
    public async Task<bool> WaitBrieflyAsync()
    {
        if (!Result.IsCompleted && !hubFailing && pendingNotice > TimeSpan.Zero)
        {
            using var cts = new CancellationTokenSource();
            var delay = Task.Delay(pendingNotice, time, cts.Token);
            await Task.WhenAny(Result, delay).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
        }
        return Result.IsCompleted;
    }

    /// <summary>Waits for the hub up to the call timeout; null when it has not answered by then.</summary>
    public async Task<ForwardResult?> WaitForCallAsync()
    {
        if (!Result.IsCompleted && !hubFailing)
        {
            using var cts = new CancellationTokenSource();
            await Task.WhenAny(Result, Task.Delay(callTimeout, time, cts.Token)).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
        }
        return Result.IsCompleted ? await Result.ConfigureAwait(false) : null;
    }
}

/// <summary>What a durable batch did that federation acts on.</summary>
internal sealed class FederationBatchEffects
{
    /// <summary>Hubs whose outbox received proposals.</summary>
    public HashSet<string> Outboxes { get; } = new(StringComparer.Ordinal);

    /// <summary>This server's forwarded proposals that came back ordered in the hub's events.</summary>
    public List<(string Nonce, CommittedEvent Event)> Ordered { get; } = [];

    /// <summary>Follower rooms where a local user joined: history to fetch content for.</summary>
    public List<(long RoomKey, string RoomId, long From, long To)> Backfills { get; } = [];

    /// <summary>Forwarded proposals their hub refused (recorded through the log in cluster mode): their waiters get the refusal.</summary>
    public List<FederationRefusal> Refused { get; } = [];

    public bool IsEmpty => Outboxes.Count == 0 && Ordered.Count == 0 && Backfills.Count == 0 && Refused.Count == 0;
}
