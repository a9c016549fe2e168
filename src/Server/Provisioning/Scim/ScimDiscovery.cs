using System.Text.Json.Nodes;

namespace TeamComms.Server.Provisioning.Scim;

/// <summary>The discovery documents of RFC 7644 §4: what this SCIM server supports.</summary>
internal static class ScimDiscovery
{
    public static JsonObject ServiceProviderConfig(string baseUrl) => new()
    {
        ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"),
        ["patch"] = new JsonObject { ["supported"] = true },
        ["bulk"] = new JsonObject { ["supported"] = false, ["maxOperations"] = 0, ["maxPayloadSize"] = 0 },
        ["filter"] = new JsonObject { ["supported"] = true, ["maxResults"] = 200 },
        ["changePassword"] = new JsonObject { ["supported"] = false },
        ["sort"] = new JsonObject { ["supported"] = false },
        ["etag"] = new JsonObject { ["supported"] = false },
        ["authenticationSchemes"] = new JsonArray(new JsonObject
        {
            ["type"] = "oauthbearertoken",
            ["name"] = "Bearer token",
            ["description"] = "A SCIM token created with 'teamcomms admin scim token create'",
            ["primary"] = true,
        }),
        ["meta"] = new JsonObject { ["resourceType"] = "ServiceProviderConfig", ["location"] = baseUrl + "/ServiceProviderConfig" },
    };

    public static JsonObject ResourceTypes(string baseUrl)
    {
        JsonObject Type(string name, string endpoint, string schema, JsonArray? extensions) => new()
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:ResourceType"),
            ["id"] = name,
            ["name"] = name,
            ["endpoint"] = endpoint,
            ["schema"] = schema,
            ["schemaExtensions"] = extensions ?? [],
            ["meta"] = new JsonObject { ["resourceType"] = "ResourceType", ["location"] = $"{baseUrl}/ResourceTypes/{name}" },
        };
        var resources = new JsonArray(
            Type("User", "/Users", ScimUser.UserSchema, new JsonArray(
                new JsonObject { ["schema"] = ScimUser.EnterpriseSchema, ["required"] = false },
                new JsonObject { ["schema"] = ScimUser.TeamCommsSchema, ["required"] = false })),
            Type("Group", "/Groups", "urn:ietf:params:scim:schemas:core:2.0:Group", null));
        return new JsonObject
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:api:messages:2.0:ListResponse"),
            ["totalResults"] = 2,
            ["startIndex"] = 1,
            ["itemsPerPage"] = 2,
            ["Resources"] = resources,
        };
    }

    public static JsonObject Schemas()
    {
        JsonObject Attribute(string name, string type = "string", bool multi = false, string mutability = "readWrite", bool required = false,
            string uniqueness = "none") => new()
        {
            ["name"] = name,
            ["type"] = type,
            ["multiValued"] = multi,
            ["required"] = required,
            ["caseExact"] = false,
            ["mutability"] = mutability,
            ["returned"] = "default",
            ["uniqueness"] = uniqueness,
        };
        JsonObject Schema(string id, string name, params JsonObject[] attributes) => new()
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:Schema"),
            ["id"] = id,
            ["name"] = name,
            ["attributes"] = new JsonArray(attributes),
        };
        var resources = new JsonArray(
            Schema(ScimUser.UserSchema, "User",
                Attribute("userName", required: true, uniqueness: "server"), Attribute("displayName"), Attribute("name", "complex"),
                Attribute("title"), Attribute("timezone"), Attribute("active", "boolean"), Attribute("emails", "complex", true),
                Attribute("phoneNumbers", "complex", true), Attribute("addresses", "complex", true), Attribute("groups", "complex", true, "readOnly")),
            Schema(ScimUser.EnterpriseSchema, "EnterpriseUser", Attribute("department"), Attribute("employeeNumber"), Attribute("manager", "complex")),
            Schema(ScimUser.TeamCommsSchema, "TeamCommsUser", Attribute("team"), Attribute("location"), Attribute("employmentStatus")),
            Schema("urn:ietf:params:scim:schemas:core:2.0:Group", "Group", Attribute("displayName", required: true), Attribute("members", "complex", true)));
        return new JsonObject
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:api:messages:2.0:ListResponse"),
            ["totalResults"] = resources.Count,
            ["startIndex"] = 1,
            ["itemsPerPage"] = resources.Count,
            ["Resources"] = resources,
        };
    }
}
