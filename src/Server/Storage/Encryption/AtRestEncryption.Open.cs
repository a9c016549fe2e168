using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using RocksDbSharp;
using TeamComms.Crypto;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Keys;

namespace TeamComms.Server.Storage.Encryption;

internal sealed partial class AtRestEncryption
{
    /// <summary>
    /// Loads the KEK and checks it against the data directory, finishes a rotation a crash interrupted, rewraps data
    /// keys to changed company recipients, and loads the server's signing key. Throws <see cref="KeySourceException"/>
    /// with a clear message (and changes nothing) when the key is missing, unsafe or wrong.
    /// </summary>
    public static AtRestEncryption Open(RocksStore store, KeyOptions options, ILogger logger, RestoreKeys? restore = null)
    {
        var restoring = restore is not null;
        // A restore ignores the backed-up server's key records: the restored server gets a new KEK.
        var check = restoring ? null : ReadMeta<KekCheckRecord>(store, "kek_check");
        var storedSource = restoring ? null : ReadMeta<KekSourceRecord>(store, "kek_source");
        var rotation = restoring ? null : ReadMeta<KekRotationRecord>(store, "kek_rotation");
        var fresh = check is null;
        var events = new List<string>();
        var (kek, source, keyFilePath) = LoadConfiguredKek(store.DataDirectory, options, storedSource, rotation, fresh, restoring, logger, events);
        var at = new AtRestEncryption(store, options, logger, kek, source, keyFilePath, []);
        at.StartupEvents.AddRange(events);
        if (restore is not null)
        {
            at.RewrapForRestore(restore);
        }
        else if (rotation is not null)
        {
            at.ResumeKekRotation(rotation);
        }
        else if (check is not null && kek.Id != check.KekId)
        {
            at.ResolveInterruptedRename(check);
        }
        else if (keyFilePath is not null && File.Exists(keyFilePath + ".next"))
        {
            // A rotation that crashed before it recorded anything: the new key never wrapped anything.
            File.Delete(keyFilePath + ".next");
            LogWarning(logger, $"Removed {keyFilePath}.next left by a KEK rotation that stopped before it began");
        }
        at.VerifyOrWriteCheck();
        at.LoadVersions();
        at.LoadApprovedRecipients(fresh && !restoring);
        var finished = at.RewrapToCompany();
        if (finished > 0)
        {
            at.StartupEvents.Add($"escrow.rewrap.finished after restart data_keys_rewrapped={finished} to=[{string.Join(",", EscrowIds(at._company))}]");
            LogWarning(logger, $"Finished rewrapping {finished} data keys to the approved company recipients (an approved change was interrupted)");
        }
        at.LoadOrCreateSigningKey();
        if (at._company.Length == 0 && at.ConfiguredDiffersFromApproved)
        {
            LogWarning(logger, "The configured escrow recipient is held until a security officer approves it (teamcomms approvals list): " +
                "until then data keys are wrapped by the KEK only, and backups cannot be made.");
        }
        else if (at._company.Length == 0)
        {
            LogWarning(logger, "No escrow recipient is configured (TeamComms:Keys:EscrowRecipient): data keys are wrapped by the KEK only, " +
                "so losing the KEK loses every message, and backups cannot be made. Run `teamcomms escrow init` and configure the public key.");
        }
        return at;
    }

    private static (KeyEncryptionKey Kek, KekSourceRecord Source, string? KeyFilePath) LoadConfiguredKek(string dataDirectory, KeyOptions o,
        KekSourceRecord? stored, KekRotationRecord? rotation, bool fresh, bool restoring, ILogger logger, List<string> events)
    {
        var passphrase = ReadPassphrase(o);
        if (passphrase is not null)
        {
            var source = stored is { Kind: "passphrase" } ? stored
                : rotation?.NewSource is { Kind: "passphrase" } rs ? rs
                : fresh ? new KekSourceRecord("passphrase", RandomNumberGenerator.GetBytes(16), o.Argon2MemoryKiB, o.Argon2Passes)
                : throw new KeySourceException("this data directory's KEK is a key file, not a passphrase: configure TeamComms:Keys:KeyFile " +
                    "(or remove the passphrase setting to use <data>/kek.key)");
            var kek = KeyEncryptionKey.FromPassphrase(passphrase, source.Salt ?? [], new Argon2Cost(source.MemoryKiB, source.Passes));
            // A rotation towards a passphrase records the new source in its marker: use it if this passphrase is the new one.
            if (stored is { Kind: "passphrase" } && rotation?.NewSource is { Kind: "passphrase" } ns && kek.Id != rotation.NewId && kek.Id != rotation.OldId)
            {
                kek.Dispose();
                kek = KeyEncryptionKey.FromPassphrase(passphrase, ns.Salt ?? [], new Argon2Cost(ns.MemoryKiB, ns.Passes));
                source = ns;
            }
            return (kek, source, null);
        }
        var explicitPath = o.KeyFile is { Length: > 0 };
        var path = Path.GetFullPath(explicitPath ? o.KeyFile! : Path.Combine(dataDirectory, "kek.key"));
        if (stored is { Kind: "passphrase" } && rotation?.NewSource.Kind != "file")
        {
            throw new KeySourceException("this data directory's KEK comes from a passphrase: set TeamComms:Keys:Passphrase or TeamComms:Keys:PassphraseFile " +
                "(for example TEAMCOMMS__KEYS__PASSPHRASE in the environment)");
        }
        if (!File.Exists(path) && (restoring || (!explicitPath && fresh && stored is null)))
        {
            var created = KeyEncryptionKey.Generate();
            created.WriteKeyFile(path, $"TeamComms key-encryption key, created {DateTimeOffset.UtcNow:u}. Keep it secret; keep it off the data volume in production.");
            LogWarning(logger, $"Created the key-encryption key file {path} (mode 0600). In production keep the key file off the data volume " +
                "(TeamComms:Keys:KeyFile) or use a passphrase (TeamComms:Keys:PassphraseFile), and store a copy safely: see docs/security.md.");
            events.Add($"kek.created file={path} kek={created.Id}");
            return (created, new KekSourceRecord("file", null, 0, 0), path);
        }
        if (!File.Exists(path))
        {
            throw new KeySourceException($"the key file {path} does not exist, but this data directory is encrypted under it. " +
                "Restore the key file from where you keep it (and set TeamComms:Keys:KeyFile), or restore from a backup with the escrow shares.");
        }
        return (KeyEncryptionKey.LoadKeyFile(path), new KekSourceRecord("file", null, 0, 0), path);
    }

    /// <summary>
    /// Checks the configured key against an existing data directory through a read-only view of its meta column
    /// family, before the database is opened for writing: a missing, unsafe or wrong key is refused while nothing on
    /// disk has changed.
    /// </summary>
    public static void Preflight(string dataDirectory, Func<string, byte[]?> readMeta, KeyOptions options, ILogger logger)
    {
        static T? Decode<T>(byte[]? b) where T : class => b is null ? null : EncryptionJson.Decode<T>(b);
        var check = Decode<KekCheckRecord>(readMeta("kek_check"));
        if (check is null)
        {
            return; // a new directory, or one that was never encrypted: nothing to check against
        }
        var stored = Decode<KekSourceRecord>(readMeta("kek_source"));
        var rotation = Decode<KekRotationRecord>(readMeta("kek_rotation"));
        var (kek, source, keyFilePath) = LoadConfiguredKek(dataDirectory, options, stored, rotation, fresh: false, restoring: false, logger, []);
        using (kek)
        {
            if (rotation is not null)
            {
                if (kek.Id != rotation.OldId && kek.Id != rotation.NewId)
                {
                    throw new KeySourceException($"a KEK rotation from {rotation.OldId} to {rotation.NewId} was interrupted, and the configured key ({kek.Id}) is neither. " +
                        "Configure the old or the new key; the next start finishes the rotation. Nothing was changed.");
                }
                return;
            }
            if (kek.Id == check.KekId)
            {
                return;
            }
            if (keyFilePath is not null && File.Exists(keyFilePath + ".next"))
            {
                using var next = KeyEncryptionKey.LoadKeyFile(keyFilePath + ".next");
                if (next.Id == check.KekId)
                {
                    return; // an interrupted rotation's last step; the open finishes it
                }
            }
            throw WrongKey(check, kek.Id, source.Kind, keyFilePath);
        }
    }

    private static KeySourceException WrongKey(KekCheckRecord check, string kekId, string kind, string? keyFilePath) => new(kind == "passphrase"
        ? $"wrong passphrase: it does not open this data directory (its key is {check.KekId}, the passphrase gives {kekId}). Nothing was changed."
        : $"wrong key file: {keyFilePath} holds {kekId}, but this data directory is encrypted under {check.KekId}. Nothing was changed.");

    private static string? ReadPassphrase(KeyOptions o)
    {
        if (o.Passphrase is { Length: > 0 } p)
        {
            return p;
        }
        if (o.PassphraseFile is not { Length: > 0 } file)
        {
            return null;
        }
        var full = Path.GetFullPath(file);
        if (!File.Exists(full))
        {
            throw new KeySourceException($"the passphrase file {full} does not exist");
        }
        KeyEncryptionKey.CheckOwnerOnly(full);
        var line = File.ReadAllText(full, Encoding.UTF8).Split('\n')[0].TrimEnd('\r');
        return line.Length > 0 ? line : throw new KeySourceException($"the passphrase file {full} is empty");
    }

    /// <summary>The recipients an escrow and an optional recovery recipient name, in that order, without duplicates.</summary>
    internal static AgeRecipient[] CompanyFrom(string? escrow, string? recovery)
    {
        var list = new List<AgeRecipient>();
        if (escrow is { Length: > 0 } e)
        {
            list.Add(AgeRecipient.Parse(e));
        }
        if (recovery is { Length: > 0 } r)
        {
            list.Add(AgeRecipient.Parse(r));
        }
        return [.. list.Distinct()];
    }

    private void VerifyOrWriteCheck()
    {
        var check = ReadMeta<KekCheckRecord>(_store, "kek_check");
        if (check is null)
        {
            using var batch = new WriteBatch();
            batch.Put("kek_check"u8, EncryptionJson.Encode(new KekCheckRecord(_kek.Id, _kek.Wrap(s_kekCheckPlain, "tckc1"u8))), _store.Meta);
            batch.Put("kek_source"u8, EncryptionJson.Encode(_source), _store.Meta);
            _store.Write(batch);
            return;
        }
        if (check.KekId != _kek.Id)
        {
            throw WrongKey(check, _kek.Id, _source.Kind, _keyFilePath);
        }
        if (_kek.Unwrap(check.Sealed, "tckc1"u8) is null)
        {
            throw new KeySourceException($"the KEK check value does not open with {_kek.Id}: the key store was modified");
        }
    }

    private void ResolveInterruptedRename(KekCheckRecord check)
    {
        var next = _keyFilePath is null ? null : _keyFilePath + ".next";
        if (next is null || !File.Exists(next))
        {
            return; // VerifyOrWriteCheck reports the wrong key
        }
        var nextKek = KeyEncryptionKey.LoadKeyFile(next);
        if (nextKek.Id != check.KekId)
        {
            nextKek.Dispose();
            return;
        }
        // The rotation committed but stopped before the new key file replaced the old one: finish that step.
        File.Move(next, _keyFilePath!, overwrite: true);
        _kek.Dispose();
        _kek = nextKek;
        StartupEvents.Add($"kek.rotation.finished after restart (key file renamed) kek={nextKek.Id}");
        LogWarning(_logger, $"Finished an interrupted KEK rotation: {_keyFilePath} now holds {nextKek.Id}");
    }

    private void LoadVersions()
    {
        using var it = _store.Db.NewIterator(_roomKeys);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            var (room, version) = KeyCodec.ParseRoomKeyVersion(it.GetKeySpan());
            _current.AddOrUpdate(room, version, (_, v) => Math.Max(v, version));
        }
    }

    /// <summary>
    /// Rewraps every data key whose escrow copy is not for the approved company recipients (an approved change of the
    /// escrow or recovery key). Idempotent and done in small atomic batches, so a crash part-way is finished by the
    /// next start. Old backups keep their old escrow copies and stay readable with the old shares. Returns how many
    /// data keys it rewrapped.
    /// </summary>
    private int RewrapToCompany()
    {
        var company = _company;
        if (company.Length == 0)
        {
            return 0; // never drop existing escrow copies because no recipient is approved
        }
        var ids = EscrowIds(company);
        var rewrapped = 0;
        var pending = new List<(byte[] Key, byte[] Value)>();
        using (var it = _store.Db.NewIterator(_roomKeys))
        {
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                var record = EncryptionJson.Decode<WrappedSecretRecord>(it.Value());
                if (record.EscrowIds.SequenceEqual(ids))
                {
                    continue;
                }
                var keyBytes = it.Key();
                var (room, version) = KeyCodec.ParseRoomKeyVersion(keyBytes);
                var ad = DataKeyAd(room, version);
                var raw = UnwrapWithKek(record, ad, $"data key {room}/{version}");
                pending.Add((keyBytes, EncryptionJson.Encode(record with { EscrowIds = ids, EscrowWrapped = EscrowWrap(raw, ad, company) })));
                CryptographicOperations.ZeroMemory(raw);
                if (pending.Count == RewrapBatchSize)
                {
                    rewrapped += CommitRewraps(pending, "escrow-rewrap");
                }
            }
        }
        rewrapped += CommitRewraps(pending, "escrow-rewrap");
        return rewrapped;
    }

    private int CommitRewraps(List<(byte[] Key, byte[] Value)> pending, string faultPoint)
    {
        if (pending.Count == 0)
        {
            return 0;
        }
        using var batch = new WriteBatch();
        foreach (var (k, v) in pending)
        {
            batch.Put(k, v, _roomKeys);
        }
        _store.Write(batch);
        var n = pending.Count;
        pending.Clear();
        FaultInjection.Hit(faultPoint);
        return n;
    }

    private void LoadOrCreateSigningKey()
    {
        var bytes = _store.Get("server_signing_key"u8, _store.Meta);
        if (bytes is null)
        {
            var key = SigningKey.Generate();
            var seed = key.ExportPrivate();
            var record = WrapSecret(seed, SigningKeyAd, Now(), key.PublicKey);
            CryptographicOperations.ZeroMemory(seed);
            _store.Put("server_signing_key"u8, EncryptionJson.Encode(record), _store.Meta);
            _signingKey = key;
            StartupEvents.Add($"server.signing_key.created key={key.KeyId}");
            return;
        }
        var stored = EncryptionJson.Decode<WrappedSecretRecord>(bytes);
        var raw = UnwrapWithKek(stored, SigningKeyAd, "the server signing key");
        _signingKey = SigningKey.Import(raw);
        CryptographicOperations.ZeroMemory(raw);
        RewrapSigningKeyToCompany();
    }

    /// <summary>Gives the signing key's escrow copy to the approved company recipients, if it is not theirs yet.</summary>
    private void RewrapSigningKeyToCompany()
    {
        var company = _company;
        if (company.Length == 0 || _store.Get("server_signing_key"u8, _store.Meta) is not { } bytes)
        {
            return;
        }
        var stored = EncryptionJson.Decode<WrappedSecretRecord>(bytes);
        if (stored.EscrowIds.SequenceEqual(EscrowIds(company)))
        {
            return;
        }
        var seed = _signingKey.ExportPrivate();
        _store.Put("server_signing_key"u8, EncryptionJson.Encode(stored with { EscrowIds = EscrowIds(company), EscrowWrapped = EscrowWrap(seed, SigningKeyAd, company) }), _store.Meta);
        CryptographicOperations.ZeroMemory(seed);
    }

    internal static T? ReadMeta<T>(RocksStore store, string key) where T : class =>
        store.Get(Encoding.UTF8.GetBytes(key), store.Meta) is { } b ? EncryptionJson.Decode<T>(b) : null;
}
