namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// Holds the current <see cref="DirectorySnapshot"/>. It has no dependencies, so the sequencer's policy check can read
/// the directory without depending on the directory service (which itself appends through the room log).
/// </summary>
internal sealed class DirectoryState
{
    private volatile DirectorySnapshot _current = new();

    public DirectorySnapshot Current
    {
        get => _current;
        set => _current = value;
    }
}
