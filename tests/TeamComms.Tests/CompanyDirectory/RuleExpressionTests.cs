using TeamComms.Protocol;
using TeamComms.Server;
using TeamComms.Server.CompanyDirectory;

namespace TeamComms.Tests.CompanyDirectory;

public class RuleExpressionTests
{
    private sealed class Subject(Dictionary<string, string[]> values) : RuleExpression.IAttributeSource
    {
        public IEnumerable<string> Values(string attribute) =>
            values.TryGetValue(attribute, out var v) ? v.Select(RuleExpression.Normalize) : [];
    }

    private static readonly Subject s_berlinSales = new(new()
    {
        ["department"] = ["Sales"],
        ["location"] = ["Berlin"],
        ["title"] = ["VP Sales"],
        ["group"] = ["Sales EMEA", "Managers"],
        ["custom.cost_center"] = ["4711"],
    });

    [Theory]
    [InlineData("department = Sales and location = Berlin", true)]
    [InlineData("department = sales AND location = BERLIN", true)]
    [InlineData("department = Sales and location = Munich", false)]
    [InlineData("department = Sales or location = Munich", true)]
    [InlineData("all(department = Sales, location in (Munich, Berlin))", true)]
    [InlineData("any(department = Support, title = \"VP Sales\")", true)]
    [InlineData("location in ('Hamburg', 'Munich')", false)]
    [InlineData("location not in (Hamburg, Munich)", true)]
    [InlineData("department != Sales", false)]
    [InlineData("not (department = Support)", true)]
    [InlineData("group = \"sales emea\"", true)]
    [InlineData("groups in (Engineering, Managers)", true)]
    [InlineData("team = Platform", false)]
    [InlineData("custom.cost_center = 4711", true)]
    [InlineData("(department = Support or department = Sales) and not location = Paris", true)]
    public void Matches_AllOfAnyOfEqualsIn(string rule, bool expected) =>
        Assert.Equal(expected, RuleExpression.Parse(rule).Matches(s_berlinSales));

    [Theory]
    [InlineData("department = ", "column 14: the rule ends where a value after '=' was expected")]
    [InlineData("department Sales", "column 12: expected '=', '!=' or 'in' after 'department', found 'Sales'")]
    [InlineData("(department = Sales", "column 20: the rule ends where ')' was expected")]
    [InlineData("department = \"Sales", "column 14: the quoted value is not closed")]
    [InlineData("department = Sales or", "column 22: the rule ends where an attribute was expected")]
    [InlineData("department = Sales location = Berlin", "column 20: expected 'and', 'or' or the end of the rule, found 'location'")]
    [InlineData("location in Berlin", "column 13: expected '(' after 'in', found 'Berlin'")]
    [InlineData("department = Sales; drop", "column 19: unexpected character ';'")]
    public void Parse_SyntaxError_SaysWhereAndWhy(string rule, string message)
    {
        var ex = Assert.Throws<ApiException>(() => RuleExpression.Parse(rule));
        Assert.Equal(ErrorCode.InvalidRule, ex.Code);
        Assert.Equal("rule syntax error at " + message, ex.Message);
    }

    [Fact]
    public void Parse_UnknownAttribute_ListsTheKnownOnes()
    {
        var ex = Assert.Throws<ApiException>(() => RuleExpression.Parse("departmnt = Sales"));
        Assert.Equal(ErrorCode.InvalidRule, ex.Code);
        Assert.StartsWith("unknown attribute 'departmnt' at column 1; known attributes: username, user_id, display_name", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.InvalidRule, Assert.Throws<ApiException>(() => RuleExpression.Parse("custom.Bad-Key = 1")).Code);
        Assert.Equal(ErrorCode.InvalidRule, Assert.Throws<ApiException>(() => RuleExpression.Parse("   ")).Code);
    }

    [Theory]
    [InlineData("department = Sales and location in (Berlin, Munich)", "department", "sales")]
    [InlineData("location in (Berlin, Munich) and department = Sales", "department", "sales")]
    [InlineData("department = Sales or department = Support", "department", "sales,support")]
    [InlineData("any(team = a, team in (b, c))", "team", "a,b,c")]
    [InlineData("department = Sales or location = Berlin", null, null)]
    [InlineData("not department = Sales", null, null)]
    [InlineData("department != Sales", null, null)]
    public void Requirement_IsANecessaryConditionForIndexing(string rule, string? attribute, string? values)
    {
        var requirement = RuleExpression.Parse(rule).Requirement;
        Assert.Equal(attribute, requirement?.Attribute);
        Assert.Equal(values, requirement is { } r ? string.Join(',', r.Values.Order(StringComparer.Ordinal)) : null);
    }

    [Fact]
    public void UsedAttributes_AreReported() =>
        Assert.Equal(["department", "group", "location"], RuleExpression.Parse("department = x and (location = y or groups = z)").UsedAttributes);
}
