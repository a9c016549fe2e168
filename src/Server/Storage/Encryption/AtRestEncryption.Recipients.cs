using System.Text;
using RocksDbSharp;
using TeamComms.Crypto.Age;

namespace TeamComms.Server.Storage.Encryption;

internal sealed partial class AtRestEncryption
{
    private const string ApprovedKey = "company_recipients";
    private const string SeenKey = "config_recipients_seen";
    private volatile CompanyRecipientsRecord? _approved;

    /// <summary>The approved company recipients record, or null when none was ever approved.</summary>
    public CompanyRecipientsRecord? Approved => _approved;

    /// <summary>The approved escrow recipient: exports are encrypted to it (never to the recovery key).</summary>
    public AgeRecipient? EscrowRecipient => _approved?.Escrow is { Length: > 0 } e ? AgeRecipient.Parse(e) : null;

    /// <summary>The escrow recipient the configuration names now (trimmed, null when unset).</summary>
    public string? ConfiguredEscrow => Normalize(_options.EscrowRecipient);

    /// <summary>The recovery recipient the configuration names now (trimmed, null when unset).</summary>
    public string? ConfiguredRecovery => Normalize(_options.RecoveryRecipient);

    /// <summary>The recipients the configuration named at the previous start, or null before the first record.</summary>
    public ConfiguredRecipientsRecord? ConfigSeen => ReadMeta<ConfiguredRecipientsRecord>(_store, SeenKey);

    /// <summary>True when the configuration names recipients other than the approved ones.</summary>
    public bool ConfiguredDiffersFromApproved =>
        (ConfiguredEscrow is not null || ConfiguredRecovery is not null)
        && (ConfiguredEscrow != _approved?.Escrow || ConfiguredRecovery != _approved?.Recovery);

    /// <summary>A row that records a newly approved set of company recipients (to commit with its audit entry).</summary>
    public static StagedWrite StageApproved(CompanyRecipientsRecord record) =>
        StagedWrite.Put("meta", Encoding.UTF8.GetBytes(ApprovedKey), EncryptionJson.Encode(record));

    /// <summary>A row that records what the configuration named at this start.</summary>
    public static StagedWrite StageConfigSeen(ConfiguredRecipientsRecord record) =>
        StagedWrite.Put("meta", Encoding.UTF8.GetBytes(SeenKey), EncryptionJson.Encode(record));

    /// <summary>
    /// Reads the approved company recipients. A data directory that never had any takes the configured ones at
    /// once (its first recipients: there is nothing encrypted to another key to protect); every later change of the
    /// configuration is only noticed here and held until approved (see the approval service).
    /// </summary>
    private void LoadApprovedRecipients(bool fresh)
    {
        var approved = ReadMeta<CompanyRecipientsRecord>(_store, ApprovedKey);
        if (approved is null && (ConfiguredEscrow is not null || ConfiguredRecovery is not null))
        {
            // A directory of the first encryption-at-rest version recorded only the recipients' key ids.
            var legacy = _store.Get("escrow_ids"u8, _store.Meta) is { } b ? Encoding.UTF8.GetString(b) : null;
            var configuredIds = string.Join(",", EscrowIds(CompanyFrom(ConfiguredEscrow, ConfiguredRecovery)));
            if (fresh || legacy is null || legacy == configuredIds)
            {
                approved = new CompanyRecipientsRecord(ConfiguredEscrow, ConfiguredRecovery, Now(), "config", 0);
                using var batch = new WriteBatch();
                batch.Put(Encoding.UTF8.GetBytes(ApprovedKey), EncryptionJson.Encode(approved), _store.Meta);
                batch.Put(Encoding.UTF8.GetBytes(SeenKey), EncryptionJson.Encode(new ConfiguredRecipientsRecord(ConfiguredEscrow, ConfiguredRecovery, Now())), _store.Meta);
                _store.Write(batch);
                StartupEvents.Add($"escrow.recipients.initial to=[{configuredIds}]");
            }
            else
            {
                LogWarning(_logger, $"The data keys are escrowed to [{legacy}], but the configuration names [{configuredIds}], and this data directory " +
                    "has no record of the approved recipients: the change is held for a security officer's approval, and backups are refused until then.");
            }
        }
        _approved = approved;
        _company = approved is null ? [] : CompanyFrom(approved.Escrow, approved.Recovery);
    }

    /// <summary>
    /// Phase 1 of an approved change of the company recipients (its record is already committed): new data keys are
    /// wrapped to the new recipients from now on, and existing ones are rewrapped in small atomic batches. Finish with
    /// <see cref="FinishRecipientChange"/> at a room-log barrier. A crash part-way is finished by the next start.
    /// </summary>
    public int BeginRecipientChange(CompanyRecipientsRecord approved)
    {
        _approved = approved;
        _company = CompanyFrom(approved.Escrow, approved.Recovery);
        return RewrapToCompany();
    }

    /// <summary>Phase 2, between two group commits: rewraps data keys a batch in flight created under the old recipients, and the signing key.</summary>
    public int FinishRecipientChange()
    {
        var n = RewrapToCompany();
        RewrapSigningKeyToCompany();
        return n;
    }

    /// <summary>How many data keys are escrowed to the approved recipients, and how many are not (yet).</summary>
    public (int Current, int Other) EscrowCoverage()
    {
        var ids = EscrowIds(_company);
        int current = 0, other = 0;
        using var it = _store.Db.NewIterator(_roomKeys);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            if (EncryptionJson.Decode<WrappedSecretRecord>(it.Value()).EscrowIds.SequenceEqual(ids))
            {
                current++;
            }
            else
            {
                other++;
            }
        }
        return (current, other);
    }

    private static string? Normalize(string? recipient) => recipient?.Trim() is { Length: > 0 } r ? r : null;
}
