using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

public class DeploymentTests
{
    private static Dictionary<string, List<string>> ParseUnit(string path)
    {
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith('['))
            {
                continue;
            }
            var eq = line.IndexOf('=');
            Assert.True(eq > 0, $"not a key=value line: {line}");
            var key = line[..eq];
            if (!values.TryGetValue(key, out var list))
            {
                values[key] = list = [];
            }
            list.Add(line[(eq + 1)..]);
        }
        return values;
    }

    [Fact]
    public void SystemdUnit_RunsAsNonRootWithTheDataDirectoryItOwns()
    {
        var unit = ParseUnit(Path.Combine(Repo.Root, "deploy", "teamcomms.service"));
        Assert.Equal("teamcomms", unit["User"].Single());
        Assert.NotEqual("root", unit["User"].Single());
        Assert.Contains("TeamComms.Server.dll", unit["ExecStart"].Single(), StringComparison.Ordinal);
        Assert.Contains("--data /var/lib/teamcomms", unit["ExecStart"].Single(), StringComparison.Ordinal);
        Assert.Equal("teamcomms", unit["StateDirectory"].Single());
        Assert.Equal("/var/lib/teamcomms", unit["ReadWritePaths"].Single());
        Assert.Equal("true", unit["NoNewPrivileges"].Single());
    }

    [Fact]
    public void OperationsGuide_CoversPublishServiceTlsAndData()
    {
        var doc = File.ReadAllText(Path.Combine(Repo.Root, "docs", "operations.md"));
        foreach (var needle in new[] { "dotnet publish", "deploy/teamcomms.service", "Kestrel__Endpoints__Https", "/var/lib/teamcomms", "SyncWrites" })
        {
            Assert.Contains(needle, doc, StringComparison.Ordinal);
        }
    }
}
