namespace TeamComms.Server.Backups;

/// <summary>Backup settings, section <c>TeamComms:Backup</c>.</summary>
public sealed class BackupOptions
{
    /// <summary>Where backups and their manifests are written. Default <c>&lt;data&gt;/backups</c>; put it on another volume in production.</summary>
    public string? Directory { get; set; }

    /// <summary>Attachment files to include. Default <c>&lt;data&gt;/attachments</c> (included when it exists).</summary>
    public string? AttachmentsDirectory { get; set; }
}
