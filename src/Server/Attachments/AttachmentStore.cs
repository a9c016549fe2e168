using Microsoft.Extensions.Logging;
using TeamComms.Server.Retention;
using TeamComms.Server.Singletons;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Attachments;

/// <summary>
/// When attachment bytes are deleted, and the records that say so. Records live in the <c>attachments</c> family
/// (<see cref="AttachmentRecord"/>); the bytes wherever <see cref="IAttachmentStorage"/> keeps them (one node: sealed
/// files in the attachments directory; cluster mode: sealed objects in a replicated JetStream object store). Deleting
/// bytes and recording it is retention's work: on one node it always runs here; in cluster mode only on the node that
/// holds the <c>retention</c> lease, which records it through the log so every node's records agree.
/// </summary>
internal sealed partial class AttachmentStore(IAttachmentStorage storage, WorkplaceStore store, ISingletonLeases leases, ILogger<AttachmentStore> logger)
{
    /// <summary>Deletes the bytes of attachments whose messages were removed, and records that they are gone.</summary>
    public async Task DeleteFilesAsync(IEnumerable<byte[]> ids)
    {
        try
        {
            await DeleteFilesCoreAsync(ids).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The retention pass deletes what is left: the records still say the files are due.
            LogDeleteFailed(logger, ex.Message);
        }
    }

    private async Task DeleteFilesCoreAsync(IEnumerable<byte[]> ids)
    {
        if (!leases.IsHeld(RetentionService.LeaseName))
        {
            return; // the lease holder does it (on applying the same removal, or at its next pass)
        }
        var writes = new List<StagedWrite>();
        foreach (var id in ids)
        {
            if (store.GetAttachment(id) is not { } record || record.FileDeleted)
            {
                continue;
            }
            await storage.DeleteAsync(record.Id, CancellationToken.None).ConfigureAwait(false);
            writes.Add(WorkplaceStore.PutAttachment(record with { FileDeleted = true }));
        }
        if (writes.Count > 0)
        {
            await storage.WriteRecordsAsync(writes).ConfigureAwait(false);
            LogDeleted(logger, writes.Count);
        }
    }

    /// <summary>
    /// Deletes uploads no message claimed since <paramref name="unclaimedBefore"/>, and files of removed messages that
    /// no hold covers any more (also those left by a crash between a removal and its file deletion).
    /// </summary>
    public async Task CollectAsync(long unclaimedBefore, LegalHolds holds)
    {
        var writes = new List<StagedWrite>();
        foreach (var record in store.AllAttachments().ToList())
        {
            if (record.Seq == 0 && !record.Removed && record.CreatedAt < unclaimedBefore)
            {
                await storage.DeleteAsync(record.Id, CancellationToken.None).ConfigureAwait(false);
                writes.Add(StagedWrite.Delete(WorkplaceStore.AttachmentsFamily, KeyCodec.Attachment(Convert.FromHexString(record.Id))));
            }
            else if (record.Removed && !record.FileDeleted && !holds.IsHeld(record.RoomId, record.Uploader))
            {
                await storage.DeleteAsync(record.Id, CancellationToken.None).ConfigureAwait(false);
                writes.Add(WorkplaceStore.PutAttachment(record with { FileDeleted = true }));
            }
        }
        if (writes.Count > 0)
        {
            await storage.WriteRecordsAsync(writes).ConfigureAwait(false);
            LogDeleted(logger, writes.Count);
        }
    }

    /// <summary>True when the attachment's stored bytes exist (tests and diagnostics).</summary>
    public bool FileExists(string idHex) => storage.ExistsAsync(idHex, CancellationToken.None).GetAwaiter().GetResult();

    [LoggerMessage(EventId = 9122, Level = LogLevel.Warning, Message = "Deleting attachment files failed ({Reason}); the next retention pass retries")]
    private static partial void LogDeleteFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 9121, Level = LogLevel.Information, Message = "Deleted {Count} attachment file(s)")]
    private static partial void LogDeleted(ILogger logger, int count);
}
