using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto.Age;

/// <summary>
/// Reads an age v1 file, streaming. The constructor reads the header, finds a stanza one of the identities opens and
/// verifies the header MAC; reads then decrypt one 64 KiB chunk at a time. A modified, reordered or truncated file,
/// or one with bytes after its final chunk, throws <see cref="AgeException"/> at the first bad chunk, so callers
/// must treat everything read so far as untrusted until the stream reports the end (<c>Read</c> returns 0).
/// </summary>
public sealed class AgeDecryptStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly PayloadCipher _payloadKey;
    // Raw ciphertext buffer: one sealed chunk plus one byte of look-ahead, to tell the final chunk from the others.
    private readonly byte[] _raw = new byte[AgeCrypto.SealedChunkSize + 1 + 4096];
    private readonly byte[] _plain = new byte[AgeCrypto.ChunkSize];
    private readonly byte[] _nonce = new byte[12];
    private int _rawStart;
    private int _rawEnd;
    private bool _innerEof;
    private int _plainStart;
    private int _plainEnd;
    private ulong _counter;
    private bool _done;
    private bool _disposed;

    /// <summary>Opens an age file with the first of <paramref name="identities"/> that matches one of its stanzas.</summary>
    public AgeDecryptStream(Stream inner, IEnumerable<AgeIdentity> identities, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _leaveOpen = leaveOpen;
        var (stanzas, upToDashes, mac) = ReadHeader();
        byte[]? fileKey = null;
        foreach (var identity in identities)
        {
            foreach (var stanza in stanzas)
            {
                fileKey = identity.Unwrap(stanza);
                if (fileKey is not null)
                {
                    MatchedRecipient = identity.Recipient;
                    break;
                }
            }
            if (fileKey is not null)
            {
                break;
            }
        }
        if (fileKey is null)
        {
            throw new AgeException(AgeError.NoMatchingIdentity,
                $"none of the given keys can open this file: it was encrypted to {stanzas.Count} other recipient(s)");
        }
        try
        {
            if (!AgeHeader.VerifyMac(fileKey, upToDashes, mac))
            {
                throw new AgeException(AgeError.HeaderModified, "the age header was modified (its MAC does not verify)");
            }
            if (Fill(AgeCrypto.NonceSize) < AgeCrypto.NonceSize)
            {
                throw new AgeException(AgeError.Truncated, "the age file is truncated: it ends before the payload");
            }
            var payloadKey = AgeCrypto.Hkdf(fileKey, _raw.AsSpan(_rawStart, AgeCrypto.NonceSize), "payload"u8);
            _rawStart += AgeCrypto.NonceSize;
            _payloadKey = new PayloadCipher(payloadKey);
            CryptographicOperations.ZeroMemory(payloadKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fileKey);
        }
        Stanzas = stanzas;
    }

    /// <summary>The recipient whose identity opened the file.</summary>
    public AgeRecipient? MatchedRecipient { get; }

    /// <summary>The header's recipient stanzas.</summary>
    public IReadOnlyList<AgeStanza> Stanzas { get; }

    /// <inheritdoc/>
    public override bool CanRead => !_disposed;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.Length == 0)
        {
            return 0;
        }
        while (_plainStart == _plainEnd)
        {
            if (_done)
            {
                return 0;
            }
            NextChunk();
        }
        var n = Math.Min(buffer.Length, _plainEnd - _plainStart);
        _plain.AsSpan(_plainStart, n).CopyTo(buffer);
        _plainStart += n;
        return n;
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    private void NextChunk()
    {
        var available = Fill(AgeCrypto.SealedChunkSize + 1);
        var last = available <= AgeCrypto.SealedChunkSize;
        var length = last ? available : AgeCrypto.SealedChunkSize;
        if (length < AgeCrypto.TagSize)
        {
            throw new AgeException(AgeError.Truncated, length == 0 && _counter > 0
                ? "the age file is truncated: it ends before its final chunk"
                : "the age file is truncated: its last chunk is incomplete");
        }
        var sealedChunk = _raw.AsSpan(_rawStart, length);
        var plain = _plain.AsSpan(0, length - AgeCrypto.TagSize);
        if (!Open(sealedChunk, plain, last))
        {
            if (!last && Open(sealedChunk, plain, true))
            {
                throw new AgeException(AgeError.TrailingData, "the age file has data after its final chunk");
            }
            if (last && length == AgeCrypto.SealedChunkSize && Open(sealedChunk, plain, false))
            {
                throw new AgeException(AgeError.Truncated, "the age file is truncated: it ends before its final chunk");
            }
            throw new AgeException(AgeError.PayloadModified,
                $"the age file was modified or its chunks reordered: chunk {_counter} does not authenticate");
        }
        if (last && plain.Length == 0 && _counter > 0)
        {
            throw new AgeException(AgeError.Malformed, "the age file's final chunk is empty");
        }
        _rawStart += length;
        _plainStart = 0;
        _plainEnd = plain.Length;
        _counter++;
        _done = last;
    }

    private bool Open(ReadOnlySpan<byte> sealedChunk, Span<byte> plain, bool last)
    {
        AgeCrypto.ChunkNonce(_nonce, _counter, last);
        return _payloadKey.TryOpen(_nonce, sealedChunk, plain);
    }

    /// <summary>Buffers until at least <paramref name="want"/> bytes are available or the input ends; returns what is available.</summary>
    private int Fill(int want)
    {
        if (_rawEnd - _rawStart >= want)
        {
            return _rawEnd - _rawStart;
        }
        if (_rawStart > 0)
        {
            Buffer.BlockCopy(_raw, _rawStart, _raw, 0, _rawEnd - _rawStart);
            _rawEnd -= _rawStart;
            _rawStart = 0;
        }
        while (!_innerEof && _rawEnd < want)
        {
            var n = _inner.Read(_raw, _rawEnd, _raw.Length - _rawEnd);
            if (n == 0)
            {
                _innerEof = true;
            }
            _rawEnd += n;
        }
        return _rawEnd - _rawStart;
    }

    private (List<AgeStanza> Stanzas, byte[] UpToDashes, byte[] Mac) ReadHeader()
    {
        var state = new AgeHeader.ParseState();
        using var header = new MemoryStream();
        while (true)
        {
            var lf = FindLineEnd();
            if (lf < 0)
            {
                throw _innerEof && _rawEnd == _rawStart && header.Length == 0
                    ? new AgeException(AgeError.Malformed, "the file is empty, not an age file")
                    : new AgeException(header.Length == 0 ? AgeError.Malformed : AgeError.Truncated,
                        header.Length == 0 ? "not an age file" : "the age file is truncated inside its header");
            }
            var line = _raw.AsSpan(_rawStart, lf - _rawStart);
            var isMac = AgeHeader.ParseLine(line, state);
            if (isMac)
            {
                header.Write(_raw, _rawStart, 3); // the MAC covers the header up to and including "---"
                _rawStart = lf + 1;
                return (state.Stanzas, header.ToArray(), state.Mac);
            }
            header.Write(_raw, _rawStart, lf + 1 - _rawStart);
            _rawStart = lf + 1;
            if (header.Length > AgeHeader.MaxHeaderLength)
            {
                throw new AgeException(AgeError.Malformed, "the age header is too large");
            }
        }
    }

    /// <summary>The index of the next LF in the buffer, reading more as needed; -1 at the end of input.</summary>
    private int FindLineEnd()
    {
        var searched = 0;
        while (true)
        {
            var idx = Array.IndexOf(_raw, (byte)'\n', _rawStart + searched, _rawEnd - _rawStart - searched);
            if (idx >= 0)
            {
                return idx;
            }
            searched = _rawEnd - _rawStart;
            if (searched > AgeHeader.MaxLineLength)
            {
                throw new AgeException(AgeError.Malformed, "not an age file (header line too long)");
            }
            if (_innerEof)
            {
                return -1;
            }
            Fill(searched + 1);
        }
    }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            CryptographicOperations.ZeroMemory(_plain);
            _payloadKey?.Dispose();
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
