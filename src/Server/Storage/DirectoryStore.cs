using RocksDbSharp;

namespace TeamComms.Server.Storage;

/// <summary>
/// The company directory's rows: profiles, the search index and the small tables (groups, rules, bindings, roles,
/// SCIM tokens, policy). Reads go straight to RocksDB; writes are returned as <see cref="StagedWrite"/>s so that a
/// directory change commits with the room events it causes, or are written with <see cref="Write"/>.
/// </summary>
internal sealed class DirectoryStore(RocksStore store)
{
    public const string ProfilesFamily = "profiles";
    public const string TablesFamily = "directory";
    public const string IndexFamily = "directory_index";

    public IEnumerable<ProfileRecord> Profiles()
    {
        foreach (var (_, value) in store.ScanPrefix(store.Family(ProfilesFamily), []))
        {
            yield return DirectoryJson.Decode<ProfileRecord>(value);
        }
    }

    public ProfileRecord? GetProfile(long userKey)
    {
        var value = store.Get(KeyCodec.Long(userKey), store.Family(ProfilesFamily));
        return value is null ? null : DirectoryJson.Decode<ProfileRecord>(value);
    }

    public static StagedWrite PutProfile(ProfileRecord profile) =>
        StagedWrite.Put(ProfilesFamily, KeyCodec.Long(profile.UserKey), DirectoryJson.Encode(profile));

    public static StagedWrite PutIndex(byte field, string lowerValue, long userKey) =>
        StagedWrite.Put(IndexFamily, KeyCodec.IndexEntry(field, lowerValue, userKey), []);

    public static StagedWrite DeleteIndex(byte field, string lowerValue, long userKey) =>
        StagedWrite.Delete(IndexFamily, KeyCodec.IndexEntry(field, lowerValue, userKey));

    /// <summary>
    /// Index entries of <paramref name="field"/> whose value starts with <paramref name="lowerPrefix"/>, in key order,
    /// strictly after the entry key <paramref name="after"/> when given. One bounded range scan.
    /// </summary>
    public IEnumerable<(byte[] Key, string Value, long UserKey)> ScanIndex(byte field, string lowerPrefix, byte[]? after)
    {
        var prefix = KeyCodec.IndexPrefix(field, lowerPrefix);
        var readOptions = new ReadOptions()
            .SetIterateLowerBound(prefix)
            .SetIterateUpperBound(KeyCodec.PrefixUpperBound(prefix));
        using var it = store.Db.NewIterator(store.Family(IndexFamily), readOptions);
        if (after is not null && after.AsSpan().SequenceCompareTo(prefix) > 0)
        {
            it.Seek(after);
            if (it.Valid() && it.GetKeySpan().SequenceEqual(after))
            {
                it.Next();
            }
        }
        else
        {
            it.SeekToFirst();
        }
        for (; it.Valid(); it.Next())
        {
            var key = it.Key();
            var (value, userKey) = KeyCodec.ParseIndexEntry(key);
            yield return (key, value, userKey);
        }
    }

    /// <summary>Every row of a directory table (one-byte prefix), in key order.</summary>
    public IEnumerable<(byte[] Key, byte[] Value)> Table(byte table) =>
        store.ScanPrefix(store.Family(TablesFamily), KeyCodec.TablePrefix(table));

    public byte[]? Get(byte[] key) => store.Get(key, store.Family(TablesFamily));

    public static StagedWrite Put<T>(byte[] key, T value) => StagedWrite.Put(TablesFamily, key, DirectoryJson.Encode(value));

    public static StagedWrite PutRaw(byte[] key, byte[] value) => StagedWrite.Put(TablesFamily, key, value);

    public static StagedWrite Delete(byte[] key) => StagedWrite.Delete(TablesFamily, key);

    /// <summary>Writes rows atomically and durably, for changes that cause no room events.</summary>
    public void Write(IReadOnlyList<StagedWrite> writes)
    {
        using var batch = new WriteBatch();
        foreach (var write in writes)
        {
            var cf = store.Family(write.Family);
            if (write.Value is null)
            {
                batch.Delete(write.Key, cf);
            }
            else
            {
                batch.Put(write.Key, write.Value, cf);
            }
        }
        store.Write(batch);
    }
}
