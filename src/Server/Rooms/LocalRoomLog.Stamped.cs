using TeamComms.Protocol;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// Sequencing proposals that come from a replicated log (cluster mode, <see cref="Proposal.Stamp"/> set). The
/// sequencing code is the same; only its inputs change: "now" is the log entry's timestamp (through
/// <see cref="LogClock"/>), room ids are chosen by the publisher, and the stamp of the last applied proposal is written
/// in the same batch as its effects (meta <c>log_applied</c>), so a restart resumes exactly after it.
/// A failed commit of stamped proposals halts stamped sequencing until <see cref="ResumeStamped"/>: later proposals of
/// the log must not be applied on top of a gap, or this node's logs would differ from every other node's.
/// </summary>
internal sealed partial class LocalRoomLog
{
    internal const string AppliedStampKey = "log_applied";

    private LogStamp? _batchStamp;
    private volatile bool _stampedHalted;

    /// <summary>True after a failed commit of stamped proposals, until the applier resumes from the durable stamp.</summary>
    internal bool StampedHalted => _stampedHalted;

    /// <summary>The log entry and index of the last durably applied stamped proposal, or (0, -1).</summary>
    internal static (long EntrySeq, int Index) ReadAppliedStamp(RoomStore rooms)
    {
        var raw = rooms.GetMeta(AppliedStampKey);
        if (raw is not { Length: 12 })
        {
            return (0, -1);
        }
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(raw), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(8)));
    }

    /// <summary>Called by the applier after it re-read the durable stamp and restarted its feed.</summary>
    internal void ResumeStamped() => _stampedHalted = false;

    /// <summary>Prepares the inputs of a stamped proposal; false when it was refused because stamped sequencing is halted.</summary>
    private bool BeginStamped(Request request)
    {
        var stamp = request.Proposal?.Stamp;
        if (_time is LogClock clock)
        {
            clock.Set(stamp?.TimestampMs);
        }
        if (stamp is null)
        {
            return true;
        }
        if (_stampedHalted)
        {
            request.SetOutcome(AppendOutcome.Fail(ErrorCode.StorageUnavailable, "this node's storage failed; it re-applies the log from its last durable entry"));
            return false;
        }
        _batchStamp = stamp;
        return true;
    }

    private void StampBatch()
    {
        if (_batchStamp is { } s)
        {
            var value = new byte[12];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(value, s.EntrySeq);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(8), s.Index);
            _batch.PutMeta(AppliedStampKey, value);
        }
    }

    private void HaltIfStamped()
    {
        if (_items.Exists(i => i.Proposal?.Stamp is not null))
        {
            _stampedHalted = true;
        }
    }
}
