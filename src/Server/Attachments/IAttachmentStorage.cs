using TeamComms.Server.Storage;

namespace TeamComms.Server.Attachments;

/// <summary>
/// Where attachment bytes live and how their records are made durable. One node: sealed files in the node's attachments
/// directory and records written to its own store (<see cref="LocalAttachmentStorage"/>). Cluster mode: sealed objects in
/// a replicated JetStream object store and records carried to every node through the cluster log
/// (<c>Cluster/ObjectStoreAttachmentStorage</c>). Who may upload or download, and when files are deleted, is decided
/// above this seam (<see cref="AttachmentService"/>, <see cref="AttachmentStore"/>) and is the same in both modes.
/// </summary>
internal interface IAttachmentStorage
{
    /// <summary>
    /// Stores an upload under <paramref name="id"/>: reads <paramref name="body"/> to its end, sealing it chunk by chunk,
    /// refusing (and keeping nothing) beyond <paramref name="maxBytes"/>. The sealed bytes are durable when this returns.
    /// </summary>
    Task<StoredAttachment> WriteAsync(byte[] id, long roomKey, Stream body, long maxBytes, CancellationToken ct);

    /// <summary>
    /// Opens an attachment for download. Everything that can be checked before the first byte is sent is checked here
    /// (it throws <see cref="ApiException"/> with <c>attachment_damaged</c> or <c>unknown_attachment</c>), so a client
    /// gets a clear error rather than a cut-off response.
    /// </summary>
    Task<IAttachmentDownload> OpenAsync(AttachmentRecord record, CancellationToken ct);

    /// <summary>Deletes the stored bytes (nothing happens when they are already gone).</summary>
    Task DeleteAsync(string idHex, CancellationToken ct);

    /// <summary>True when the stored bytes exist (tests and diagnostics).</summary>
    Task<bool> ExistsAsync(string idHex, CancellationToken ct);

    /// <summary>
    /// Makes attachment record changes durable: on one node written to the store; in cluster mode carried through the
    /// log and written by every node in log order (the task completes when this node has applied them).
    /// </summary>
    Task WriteRecordsAsync(IReadOnlyList<StagedWrite> rows);

    /// <summary>The key of signed download links: random per process on one node, shared by every node in cluster mode.</summary>
    byte[] LinkKey { get; }
}

/// <summary>What <see cref="IAttachmentStorage.WriteAsync"/> stored: the plaintext size, its first bytes (for type checks) and how it is sealed.</summary>
/// <param name="KeyVersion">The room data-key version (one node), 0 in cluster mode.</param>
/// <param name="KeyId">Cluster mode: the id of the cluster key that wraps <paramref name="WrappedKey"/>.</param>
/// <param name="WrappedKey">Cluster mode: the attachment's own key, sealed with a key derived from the cluster log key.</param>
internal sealed record StoredAttachment(long Size, byte[] Head, int KeyVersion, string? KeyId = null, byte[]? WrappedKey = null);

/// <summary>An attachment opened for download: its plaintext, verified chunk by chunk as it is copied.</summary>
internal interface IAttachmentDownload : IAsyncDisposable
{
    Task CopyToAsync(Stream destination, CancellationToken ct);
}
