namespace TeamComms.Crypto.Keys;

/// <summary>A key-encryption key could not be loaded: missing, unsafe permissions, malformed or wrong. The message says which and what to do.</summary>
public sealed class KeySourceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KeySourceException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public KeySourceException() : base("the key could not be loaded")
    {
    }

    /// <summary>Creates the exception.</summary>
    public KeySourceException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
