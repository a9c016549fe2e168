namespace TeamComms.Server.Storage.Encryption;

/// <summary>
/// Keys for encryption at rest and backups, section <c>TeamComms:Keys</c>. See docs/security.md.
/// The key-encryption key (KEK) comes from exactly one of <see cref="KeyFile"/> and a passphrase
/// (<see cref="Passphrase"/> or <see cref="PassphraseFile"/>). With neither, the server uses
/// <c>&lt;data&gt;/kek.key</c>, creating it on the first start.
/// </summary>
public sealed class KeyOptions
{
    /// <summary>Path of the KEK file (mode 0600). Missing or readable by others stops the start.</summary>
    public string? KeyFile { get; set; }

    /// <summary>A passphrase the KEK is derived from with Argon2id. Prefer <see cref="PassphraseFile"/> or an environment variable.</summary>
    public string? Passphrase { get; set; }

    /// <summary>A file whose first line is the passphrase (mode 0600 or 0400, like a key file).</summary>
    public string? PassphraseFile { get; set; }

    /// <summary>The company escrow public key (<c>age1…</c>) from <c>teamcomms escrow init</c>. Every data key is also wrapped to it, and backups are encrypted to it.</summary>
    public string? EscrowRecipient { get; set; }

    /// <summary>
    /// Optional operations recovery key (<c>age1…</c>): an extra recipient of data-key wraps and backups, held by one
    /// team, so routine restores do not need the escrow ceremony. A trade-off; see docs/security.md.
    /// </summary>
    public string? RecoveryRecipient { get; set; }

    /// <summary>Argon2id memory for a passphrase KEK, in KiB (default 64 MiB).</summary>
    public long Argon2MemoryKiB { get; set; } = 64 * 1024;

    /// <summary>Argon2id passes for a passphrase KEK (default 3).</summary>
    public long Argon2Passes { get; set; } = 3;

    /// <summary>How many room data keys stay unwrapped in memory (each sits in a guarded libsodium allocation).</summary>
    public int DataKeyCacheSize { get; set; } = 4096;

    /// <summary>Checks the settings; a misconfigured server refuses to start and says why.</summary>
    public IEnumerable<string> Validate()
    {
        var sources = (KeyFile is { Length: > 0 } ? 1 : 0) + (Passphrase is { Length: > 0 } ? 1 : 0) + (PassphraseFile is { Length: > 0 } ? 1 : 0);
        if (sources > 1)
        {
            yield return "TeamComms:Keys: set only one of KeyFile, Passphrase and PassphraseFile";
        }
        if (EscrowRecipient is { Length: > 0 } e && !TeamComms.Crypto.Age.AgeRecipient.TryParse(e, out _))
        {
            yield return $"TeamComms:Keys:EscrowRecipient '{e}' is not an age recipient (age1…)";
        }
        if (RecoveryRecipient is { Length: > 0 } r && !TeamComms.Crypto.Age.AgeRecipient.TryParse(r, out _))
        {
            yield return $"TeamComms:Keys:RecoveryRecipient '{r}' is not an age recipient (age1…)";
        }
        if (Argon2MemoryKiB < 8 || Argon2Passes < 1)
        {
            yield return "TeamComms:Keys Argon2 cost is below libsodium's minimum";
        }
        if (DataKeyCacheSize < 16)
        {
            yield return "TeamComms:Keys:DataKeyCacheSize must be at least 16";
        }
    }
}
