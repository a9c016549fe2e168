using TeamComms.Protocol;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Keys;

/// <summary>Key status and online rotations, each audited. Rotations that touch the write path run at a room-log barrier.</summary>
internal sealed class KeyService(RocksStore store, IRoomLog log, RoomRegistry rooms, ISecurityAuditSink audit) : IDisposable
{
    private readonly SemaphoreSlim _kekGate = new(1, 1);

    private AtRestEncryption AtRest => store.AtRest ?? throw new ApiException(ErrorCode.Unavailable, "encryption at rest is off");

    /// <summary>Key status; <paramref name="pendingRecipientsRequest"/> is the pending change of the company recipients, if any.</summary>
    public object Status(object? pendingRecipientsRequest = null)
    {
        var at = AtRest;
        return new
        {
            kek_id = at.KekId,
            kek_source = at.KekSource,
            key_file = at.KeyFilePath,
            kek_rotation_pending = at.KekRotationPending,
            company_recipients = at.CompanyRecipients.Select(r => new { key_id = r.KeyId, recipient = r.ToString() }),
            approved = at.Approved is { } a ? new
            {
                escrow_recipient = a.Escrow,
                recovery_recipient = a.Recovery,
                approved_by = a.ApprovedBy,
                approved_at = DateTimeOffset.FromUnixTimeMilliseconds(a.ApprovedAt),
                request = a.RequestId == 0 ? (long?)null : a.RequestId,
            } : null,
            configured = new { escrow_recipient = at.ConfiguredEscrow, recovery_recipient = at.ConfiguredRecovery },
            configured_differs_from_approved = at.ConfiguredDiffersFromApproved,
            pending_recipients_request = pendingRecipientsRequest,
            rooms_with_keys = at.RoomCount,
            signing_key_id = at.SigningKey.KeyId,
        };
    }

    /// <summary>
    /// Rotates the KEK: every data key is rewrapped (messages are not rewritten). In key-file mode a new key file
    /// replaces the old one; in passphrase mode <paramref name="newPassphrase"/> is the new passphrase, to be put in
    /// the configuration before the next start.
    /// </summary>
    public async Task<(string From, string To)> RotateKekAsync(string? newPassphrase, string actor)
    {
        var at = AtRest;
        if (at.KekSource == "passphrase" && string.IsNullOrEmpty(newPassphrase))
        {
            throw new ApiException(ErrorCode.BadRequest, "this server's KEK comes from a passphrase: give new_passphrase");
        }
        if (at.KekSource == "file" && !string.IsNullOrEmpty(newPassphrase))
        {
            throw new ApiException(ErrorCode.BadRequest, "this server's KEK comes from a key file: rotate without new_passphrase (a new key file is written)");
        }
        if (!await _kekGate.WaitAsync(0).ConfigureAwait(false))
        {
            throw new ApiException(ErrorCode.Conflict, "a KEK rotation or a change of the company recipients is already running");
        }
        try
        {
            var from = at.KekId;
            await Task.Run(() => at.BeginKekRotation(newPassphrase)).ConfigureAwait(false);
            var to = await log.BarrierAsync(_ => at.FinishKekRotation()).ConfigureAwait(false);
            audit.Record("keys.kek.rotated", actor, new Dictionary<string, string> { ["from"] = from, ["to"] = to, ["source"] = at.KekSource });
            return (from, to);
        }
        catch (InvalidOperationException ex)
        {
            throw new ApiException(ErrorCode.Conflict, ex.Message);
        }
        finally
        {
            _kekGate.Release();
        }
    }

    /// <summary>Starts a new data key for a room: new events use it; old events keep theirs.</summary>
    public async Task<int> RotateRoomKeyAsync(string roomId, string actor)
    {
        var at = AtRest;
        var room = rooms.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, $"no room {roomId}");
        var version = await log.BarrierAsync(_ => at.RotateRoomKey(room.Key)).ConfigureAwait(false);
        audit.Record("keys.room.rotated", actor, new Dictionary<string, string> { ["room"] = roomId, ["version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return version;
    }

    /// <summary>
    /// Puts an approved (and already committed) set of company recipients into effect: new data keys are wrapped to
    /// it at once, existing ones are rewrapped beside the sequencer, and the last pass runs at a room-log barrier so
    /// no batch in flight keeps a key escrowed to the old set. Waits for a running KEK rotation (both rewrite the
    /// key records). Returns how many data keys were rewrapped.
    /// </summary>
    public async Task<int> ApplyRecipientsAsync(CompanyRecipientsRecord approved)
    {
        var at = AtRest;
        await _kekGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var n = await Task.Run(() => at.BeginRecipientChange(approved)).ConfigureAwait(false);
            return n + await log.BarrierAsync(_ => at.FinishRecipientChange()).ConfigureAwait(false);
        }
        finally
        {
            _kekGate.Release();
        }
    }

    public void Dispose() => _kekGate.Dispose();
}
