namespace TeamComms.Server.Provisioning.Scim;

/// <summary>
/// A SCIM error (RFC 7644 §3.12): an HTTP status, an optional <c>scimType</c> (<c>invalidFilter</c>,
/// <c>uniqueness</c>, <c>invalidSyntax</c>, <c>invalidPath</c>, <c>noTarget</c>, <c>invalidValue</c>,
/// <c>mutability</c>, …) and a detail for the identity provider's logs.
/// </summary>
internal sealed class ScimException(int status, string? scimType, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string? ScimType { get; } = scimType;

    public static ScimException InvalidSyntax(string detail) => new(400, "invalidSyntax", detail);
    public static ScimException InvalidValue(string detail) => new(400, "invalidValue", detail);
    public static ScimException InvalidPath(string detail) => new(400, "invalidPath", detail);
    public static ScimException InvalidFilter(string detail) => new(400, "invalidFilter", detail);
    public static ScimException NoTarget(string detail) => new(400, "noTarget", detail);
    public static ScimException Uniqueness(string detail) => new(409, "uniqueness", detail);
    public static ScimException NotFound(string detail) => new(404, null, detail);
}
