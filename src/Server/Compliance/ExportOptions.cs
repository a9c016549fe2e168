namespace TeamComms.Server.Compliance;

/// <summary>Compliance export settings, section <c>TeamComms:Compliance</c>.</summary>
public sealed class ExportOptions
{
    /// <summary>Where export files (<c>.age</c>) and their signed manifests are written. Default <c>&lt;data&gt;/exports</c>.</summary>
    public string? ExportDirectory { get; set; }
}
