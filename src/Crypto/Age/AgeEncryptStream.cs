using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto.Age;

/// <summary>
/// Writes an age v1 file, streaming: the header goes out at construction, then the payload in 64 KiB
/// ChaCha20-Poly1305 STREAM chunks as data arrives, so a file of any size needs 128 KiB of memory.
/// <para>
/// Call <see cref="Complete"/> after the last write: it seals the final chunk (the one flagged last). Disposing
/// without <see cref="Complete"/> deliberately leaves the file without a final chunk, so a producer that failed
/// half-way cannot leave a file that decrypts as if it were whole.
/// </para>
/// </summary>
public sealed class AgeEncryptStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly PayloadCipher _payloadKey;
    private readonly byte[] _plain = new byte[AgeCrypto.ChunkSize];
    private readonly byte[] _sealed = new byte[AgeCrypto.SealedChunkSize];
    private readonly byte[] _nonce = new byte[12];
    private int _plainLength;
    private ulong _counter;
    private long _written;
    private bool _completed;
    private bool _disposed;

    /// <summary>Starts an age file on <paramref name="inner"/> encrypted to every one of <paramref name="recipients"/>.</summary>
    public AgeEncryptStream(Stream inner, IEnumerable<AgeRecipient> recipients, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var list = recipients.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("an age file needs at least one recipient", nameof(recipients));
        }
        _inner = inner;
        _leaveOpen = leaveOpen;
        var fileKey = RandomNumberGenerator.GetBytes(AgeCrypto.FileKeySize);
        try
        {
            var header = AgeHeader.Write(list.Select(r => r.Wrap(fileKey)).ToList(), fileKey);
            var nonce = RandomNumberGenerator.GetBytes(AgeCrypto.NonceSize);
            var payloadKey = AgeCrypto.Hkdf(fileKey, nonce, "payload"u8);
            _payloadKey = new PayloadCipher(payloadKey);
            CryptographicOperations.ZeroMemory(payloadKey);
            _inner.Write(header);
            _inner.Write(nonce);
            _written = header.Length + nonce.Length;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fileKey);
        }
    }

    /// <summary>Ciphertext bytes written to the inner stream so far.</summary>
    public long CiphertextLength => _written;

    /// <inheritdoc/>
    public override bool CanRead => false;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => !_completed && !_disposed;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("the age file is already complete");
        }
        while (buffer.Length > 0)
        {
            if (_plainLength == AgeCrypto.ChunkSize)
            {
                // More data follows, so this full chunk is not the final one.
                SealChunk(last: false);
            }
            var n = Math.Min(buffer.Length, AgeCrypto.ChunkSize - _plainLength);
            buffer[..n].CopyTo(_plain.AsSpan(_plainLength));
            _plainLength += n;
            buffer = buffer[n..];
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>Seals the final chunk and flushes. The file is valid only after this.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            return;
        }
        SealChunk(last: true);
        _completed = true;
        _inner.Flush();
    }

    private void SealChunk(bool last)
    {
        AgeCrypto.ChunkNonce(_nonce, _counter, last);
        var sealedLength = _plainLength + AgeCrypto.TagSize;
        _payloadKey.Seal(_nonce, _plain.AsSpan(0, _plainLength), _sealed.AsSpan(0, sealedLength));
        _inner.Write(_sealed, 0, sealedLength);
        _written += sealedLength;
        _counter++;
        _plainLength = 0;
    }

    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            CryptographicOperations.ZeroMemory(_plain);
            _payloadKey.Dispose();
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
