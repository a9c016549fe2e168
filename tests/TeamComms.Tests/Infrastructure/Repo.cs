namespace TeamComms.Tests.Infrastructure;

/// <summary>Paths inside the repository and the build output, for tests that run the real executables.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "TeamComms.Server.dll");

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "teamcomms.dll");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TeamComms.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("TeamComms.sln not found above " + AppContext.BaseDirectory);
    }
}
