namespace TeamComms.Crypto.Age;

/// <summary>Why an age file was refused.</summary>
public enum AgeError
{
    /// <summary>The bytes are not an age v1 file, or the header is malformed.</summary>
    Malformed,
    /// <summary>None of the given identities can open the file: it was encrypted to other recipients.</summary>
    NoMatchingIdentity,
    /// <summary>The header MAC does not verify: the header was modified.</summary>
    HeaderModified,
    /// <summary>A payload chunk failed authentication: the file was modified or its chunks reordered.</summary>
    PayloadModified,
    /// <summary>The file ends before its final chunk.</summary>
    Truncated,
    /// <summary>Bytes follow the final chunk.</summary>
    TrailingData,
}

/// <summary>An age file could not be read. <see cref="Error"/> says why; the message says it to a person.</summary>
public sealed class AgeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgeException(AgeError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception (for serializers and analyzers; prefer the error-taking constructor).</summary>
    public AgeException() : this(AgeError.Malformed, "malformed age file")
    {
    }

    /// <summary>Creates the exception (prefer the error-taking constructor).</summary>
    public AgeException(string message) : this(AgeError.Malformed, message)
    {
    }

    /// <summary>Creates the exception (prefer the error-taking constructor).</summary>
    public AgeException(string message, Exception innerException) : base(message, innerException) => Error = AgeError.Malformed;

    /// <summary>The kind of failure.</summary>
    public AgeError Error { get; }
}
