namespace TeamComms.Server.Federation;

/// <summary>
/// Signatures of requests accepted within the time window, so that a captured request replayed inside the window is
/// refused too. Entries live until their request leaves the window; memory is bounded by the request rate times the
/// window. The cache is in memory: after a restart a replay inside the window is accepted, which is harmless because
/// transactions are idempotent (proposals by nonce, events by seq).
/// </summary>
internal sealed class ReplayCache
{
    private readonly Dictionary<(string Origin, UInt128 Signature), long> _seen = [];
    private readonly Lock _lock = new();
    private long _nextPrune;

    /// <summary>False when the signature was seen before. <paramref name="expiresAt"/> is when it leaves the window.</summary>
    public bool TryAdd(string origin, ReadOnlySpan<byte> signature, long now, long expiresAt)
    {
        // 128 bits of an Ed25519 signature are unique enough: a collision needs ~2^64 requests.
        var key = (origin, System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(signature));
        lock (_lock)
        {
            if (now >= _nextPrune)
            {
                foreach (var (k, expires) in _seen.ToList())
                {
                    if (expires < now)
                    {
                        _seen.Remove(k);
                    }
                }
                _nextPrune = now + 10_000;
            }
            return _seen.TryAdd(key, expiresAt);
        }
    }
}
