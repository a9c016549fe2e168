using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using RocksDbSharp;
using TeamComms.Crypto;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Keys;

namespace TeamComms.Server.Storage.Encryption;

/// <summary>Identities and keys a restore uses to rewrap the restored data keys under the new server's KEK.</summary>
internal sealed record RestoreKeys(IReadOnlyList<AgeIdentity> EscrowIdentities, KeyEncryptionKey? OldKek);

internal sealed partial class AtRestEncryption
{
    private static readonly byte[] s_rotationAd = "tckr1"u8.ToArray();

    /// <summary>
    /// Phase 1 of a KEK rotation (any thread): creates the new KEK (a new key file written as <c>&lt;file&gt;.next</c>, or
    /// the KEK of <paramref name="newPassphrase"/>), records the rotation with each key wrapped by the other, and
    /// rewraps every data key in small atomic batches. Messages are not rewritten. Finish with
    /// <see cref="FinishKekRotation"/> at a room-log barrier.
    /// </summary>
    public string BeginKekRotation(string? newPassphrase)
    {
        KeyEncryptionKey newKek;
        KekSourceRecord newSource;
        lock (_kekLock)
        {
            if (_rotation is not null)
            {
                throw new InvalidOperationException("a KEK rotation is already under way");
            }
            if (newPassphrase is { Length: > 0 })
            {
                newSource = new KekSourceRecord("passphrase", RandomNumberGenerator.GetBytes(16), _options.Argon2MemoryKiB, _options.Argon2Passes);
                newKek = KeyEncryptionKey.FromPassphrase(newPassphrase, newSource.Salt, new Argon2Cost(newSource.MemoryKiB, newSource.Passes));
            }
            else
            {
                if (_keyFilePath is null)
                {
                    throw new InvalidOperationException("this server's KEK comes from a passphrase: give the new passphrase");
                }
                newKek = KeyEncryptionKey.Generate();
                newSource = new KekSourceRecord("file", null, 0, 0);
                var next = _keyFilePath + ".next";
                if (File.Exists(next))
                {
                    File.Delete(next);
                }
                newKek.WriteKeyFile(next, $"TeamComms key-encryption key (rotation in progress), created {DateTimeOffset.UtcNow:u}");
            }
            var marker = new KekRotationRecord(_kek.Id, newKek.Id, _kek.WrapKey(newKek, s_rotationAd), newKek.WrapKey(_kek, s_rotationAd), newSource);
            _store.Put("kek_rotation"u8, EncryptionJson.Encode(marker), _store.Meta);
            _rotation = marker;
            _nextKek = newKek;
        }
        RewrapAllUnderNext();
        return newKek.Id;
    }

    /// <summary>
    /// Phase 2 (between two group commits, so no batch holds a key wrapped by the old KEK): rewraps what phase 1
    /// missed, then atomically records the new KEK and drops the rotation record; then the new key file replaces the
    /// old one. Returns the new KEK id.
    /// </summary>
    public string FinishKekRotation()
    {
        var rotation = _rotation ?? throw new InvalidOperationException("no KEK rotation is under way");
        var newKek = _nextKek!;
        RewrapAllUnderNext();
        using (var batch = new WriteBatch())
        {
            RewrapSigningKey(batch, newKek);
            batch.Put("kek_check"u8, EncryptionJson.Encode(new KekCheckRecord(newKek.Id, newKek.Wrap(s_kekCheckPlain, "tckc1"u8))), _store.Meta);
            batch.Put("kek_source"u8, EncryptionJson.Encode(rotation.NewSource), _store.Meta);
            batch.Delete("kek_rotation"u8, _store.Meta);
            _store.Write(batch);
        }
        FaultInjection.Hit("kek-rotation-commit");
        if (rotation.NewSource.Kind == "file" && _keyFilePath is not null && File.Exists(_keyFilePath + ".next"))
        {
            // If a crash loses this rename, the next start finds <file>.next holding the recorded KEK and renames it then.
            File.Move(_keyFilePath + ".next", _keyFilePath, overwrite: true);
        }
        lock (_kekLock)
        {
            // The old KEK is not disposed: a reader may hold it; it is unreachable from here on.
            _kek = newKek;
            _nextKek = null;
            _rotation = null;
            _source = rotation.NewSource;
        }
        // Drop the old wrapped copies (and the rotation record holding the old key) from older SST files.
        _store.CompactKeys();
        LogKekRotated(_logger, rotation.OldId, rotation.NewId);
        return newKek.Id;
    }

    private void ResumeKekRotation(KekRotationRecord rotation)
    {
        KeyEncryptionKey? other;
        if (_kek.Id == rotation.OldId)
        {
            other = _kek.UnwrapKey(rotation.NewUnderOld, s_rotationAd);
            _nextKek = other;
        }
        else if (_kek.Id == rotation.NewId)
        {
            other = _kek.UnwrapKey(rotation.OldUnderNew, s_rotationAd);
            _nextKek = _kek;
            _kek = other!;
        }
        else
        {
            throw new KeySourceException($"a KEK rotation from {rotation.OldId} to {rotation.NewId} was interrupted, and the configured key ({_kek.Id}) is neither. " +
                "Configure the old or the new key; the next start finishes the rotation. Nothing was changed.");
        }
        if (other is null)
        {
            throw new InvalidDataException("the KEK rotation record does not open: the key store was modified");
        }
        _rotation = rotation;
        if (rotation.NewSource.Kind == "file" && _keyFilePath is not null && !File.Exists(_keyFilePath + ".next") && _kek.Id == rotation.OldId)
        {
            // The new key exists only inside the rotation record now: write it out again so phase 2 can install it.
            _nextKek!.WriteKeyFile(_keyFilePath + ".next", "TeamComms key-encryption key (rotation in progress)");
        }
        RewrapAllUnderNext();
        var newId = FinishKekRotation();
        StartupEvents.Add($"kek.rotation.finished after restart from={rotation.OldId} to={newId}");
        LogWarning(_logger, $"Finished a KEK rotation that a restart interrupted: {rotation.OldId} -> {newId}");
    }

    private void RewrapAllUnderNext()
    {
        var newKek = _nextKek!;
        var pending = new List<(byte[] Key, byte[] Value)>();
        using (var it = _store.Db.NewIterator(_roomKeys))
        {
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                var record = EncryptionJson.Decode<WrappedSecretRecord>(it.Value());
                if (record.KekId == newKek.Id)
                {
                    continue;
                }
                var keyBytes = it.Key();
                var (room, version) = KeyCodec.ParseRoomKeyVersion(keyBytes);
                var ad = DataKeyAd(room, version);
                var raw = UnwrapWithKek(record, ad, $"data key {room}/{version}");
                pending.Add((keyBytes, EncryptionJson.Encode(record with { KekId = newKek.Id, KekWrapped = newKek.Wrap(raw, ad) })));
                CryptographicOperations.ZeroMemory(raw);
                if (pending.Count == RewrapBatchSize)
                {
                    CommitRewraps(pending, "kek-rotation");
                }
            }
        }
        CommitRewraps(pending, "kek-rotation");
    }

    private void RewrapSigningKey(WriteBatch batch, KeyEncryptionKey newKek)
    {
        var bytes = _store.Get("server_signing_key"u8, _store.Meta);
        if (bytes is null)
        {
            return;
        }
        var record = EncryptionJson.Decode<WrappedSecretRecord>(bytes);
        if (record.KekId == newKek.Id)
        {
            return;
        }
        var raw = UnwrapWithKek(record, SigningKeyAd, "the server signing key");
        batch.Put("server_signing_key"u8, EncryptionJson.Encode(record with { KekId = newKek.Id, KekWrapped = newKek.Wrap(raw, SigningKeyAd) }), _store.Meta);
        CryptographicOperations.ZeroMemory(raw);
    }

    /// <summary>
    /// For a restore: every data key and the signing key are opened with the escrow identities (or the old KEK) and
    /// rewrapped under this server's new KEK; the old KEK check and any rotation record are replaced.
    /// </summary>
    private void RewrapForRestore(RestoreKeys restore)
    {
        var pending = new List<(byte[] Key, byte[] Value)>();
        using (var it = _store.Db.NewIterator(_roomKeys))
        {
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                var keyBytes = it.Key();
                var (room, version) = KeyCodec.ParseRoomKeyVersion(keyBytes);
                var record = EncryptionJson.Decode<WrappedSecretRecord>(it.Value());
                var ad = DataKeyAd(room, version);
                var raw = RecoverSecret(record, ad, restore, $"data key {room}/{version}");
                pending.Add((keyBytes, EncryptionJson.Encode(record with { KekId = _kek.Id, KekWrapped = _kek.Wrap(raw, ad) })));
                CryptographicOperations.ZeroMemory(raw);
                if (pending.Count == 256)
                {
                    CommitRewraps(pending, "restore-rewrap");
                }
            }
        }
        CommitRewraps(pending, "restore-rewrap");
        using var batch = new WriteBatch();
        if (_store.Get("server_signing_key"u8, _store.Meta) is { } sk)
        {
            var record = EncryptionJson.Decode<WrappedSecretRecord>(sk);
            var raw = RecoverSecret(record, SigningKeyAd, restore, "the server signing key");
            batch.Put("server_signing_key"u8, EncryptionJson.Encode(record with { KekId = _kek.Id, KekWrapped = _kek.Wrap(raw, SigningKeyAd) }), _store.Meta);
            CryptographicOperations.ZeroMemory(raw);
        }
        batch.Put("kek_check"u8, EncryptionJson.Encode(new KekCheckRecord(_kek.Id, _kek.Wrap(s_kekCheckPlain, "tckc1"u8))), _store.Meta);
        batch.Put("kek_source"u8, EncryptionJson.Encode(_source), _store.Meta);
        batch.Delete("kek_rotation"u8, _store.Meta);
        _store.Write(batch);
        StartupEvents.Add($"restore.rewrapped kek={_kek.Id}");
    }

    private static byte[] RecoverSecret(WrappedSecretRecord record, byte[] ad, RestoreKeys restore, string what)
    {
        if (restore.OldKek is { } old && old.Id == record.KekId && old.Unwrap(record.KekWrapped, ad) is { } viaKek)
        {
            return viaKek;
        }
        if (restore.EscrowIdentities.Count == 0)
        {
            throw new KeySourceException($"{what} is wrapped by {record.KekId}; give the escrow shares or that key file");
        }
        return EscrowUnwrap(record, ad, restore.EscrowIdentities, what);
    }
}
