using Microsoft.Extensions.Logging.Abstractions;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

public class DataDirectoryTests
{
    [Fact]
    public void NewerFormatVersion_IsRefusedWithAClearMessage()
    {
        var dir = TempDirectory.Create("tc-fmt");
        try
        {
            using (var store = new RocksStore(dir, new StorageOptions(), NullLogger.Instance))
            {
                store.Put("format_version"u8, KeyCodec.Long(RocksStore.CurrentFormatVersion + 1), store.Meta);
            }
            var ex = Assert.Throws<StorageFormatException>(() => new RocksStore(dir, new StorageOptions(), NullLogger.Instance));
            Assert.Contains("newer than this server", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public void OlderFormatVersion_IsMigrated()
    {
        var dir = TempDirectory.Create("tc-fmt");
        try
        {
            using (var store = new RocksStore(dir, new StorageOptions(), NullLogger.Instance))
            {
                // Make it look like a format-1 directory: version 1, no epoch.
                store.Put("format_version"u8, KeyCodec.Long(1), store.Meta);
                store.Delete("epoch"u8, store.Meta);
            }
            using var migrated = new RocksStore(dir, new StorageOptions(), NullLogger.Instance);
            Assert.Equal(RocksStore.CurrentFormatVersion, migrated.FormatVersion);
            Assert.NotEqual(0UL, migrated.Epoch);
            Assert.Equal(RocksStore.CurrentFormatVersion, KeyCodec.ReadLong(migrated.Get("format_version"u8, migrated.Meta)));
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public async Task ChangedServerName_RefusesToStart()
    {
        var server = await TestServer.StartAsync();
        var dir = server.DataDirectory;
        await server.StopAsync();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new() { ["TeamComms:ServerName"] = "other.example" }, dataDirectory: dir));
        Assert.Contains("cannot change", ex.ToString(), StringComparison.Ordinal);
        TempDirectory.Delete(dir);
    }

    [Fact]
    public async Task InvalidSettings_RefuseToStart()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new() { ["TeamComms:ServerName"] = "Not A Name" }));
        Assert.Contains("ServerName", ex.ToString(), StringComparison.Ordinal);
    }
}
