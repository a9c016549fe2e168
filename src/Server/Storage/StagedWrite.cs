namespace TeamComms.Server.Storage;

/// <summary>
/// One row to write (or delete, when <see cref="Value"/> is null) in a named column family. Stores build these so
/// that a change can commit atomically with room events in one group commit (see <c>SystemProposal</c>), or in one
/// batch of its own (<see cref="DirectoryStore.Write"/>). It is plain data, so a replicated log could carry it.
/// </summary>
internal sealed record StagedWrite(string Family, byte[] Key, byte[]? Value)
{
    public static StagedWrite Put(string family, byte[] key, byte[] value) => new(family, key, value);

    public static StagedWrite Delete(string family, byte[] key) => new(family, key, null);
}
