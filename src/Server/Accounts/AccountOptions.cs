namespace TeamComms.Server.Accounts;

/// <summary>Account settings, section <c>TeamComms:Accounts</c>.</summary>
public sealed class AccountOptions
{
    /// <summary>Argon2id memory cost in KiB. Default 19456 (19 MiB), the OWASP 2024 recommendation with 2 passes.</summary>
    public long Argon2MemoryKiB { get; set; } = 19 * 1024;

    /// <summary>Argon2id passes. Default 2.</summary>
    public long Argon2Passes { get; set; } = 2;

    /// <summary>How long an access token is valid after login. Default 30 days.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long a setup link is valid. Default 72 hours.</summary>
    public TimeSpan SetupLinkLifetime { get; set; } = TimeSpan.FromHours(72);

    /// <summary>Failed logins per account inside <see cref="ThrottleWindow"/> before further attempts are refused.</summary>
    public int MaxFailuresPerAccount { get; set; } = 5;

    /// <summary>Failed logins per client address inside <see cref="ThrottleWindow"/> before further attempts are refused.</summary>
    public int MaxFailuresPerAddress { get; set; } = 20;

    /// <summary>The sliding window for login throttling. Default 15 minutes.</summary>
    public TimeSpan ThrottleWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Username of the first admin, created on first start. Default <c>admin</c>.</summary>
    public string BootstrapAdmin { get; set; } = "admin";

    /// <summary>
    /// Password of the first admin. When empty, a random one is generated and printed once on the console.
    /// Set it through <c>TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD</c> to provision without reading logs.
    /// </summary>
    public string? BootstrapPassword { get; set; }

    /// <summary>Base URL used in setup links, for example <c>https://chat.acme.example</c>. Defaults to the request's.</summary>
    public string? PublicBaseUrl { get; set; }
}
