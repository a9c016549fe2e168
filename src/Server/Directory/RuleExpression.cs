using System.Text;
using TeamComms.Protocol;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// A membership rule over directory attributes, for example
/// <c>department = Sales and location in (Berlin, Munich)</c> or <c>any(group = "Sales EMEA", title = "VP Sales")</c>.
/// <para>Grammar (keywords are case-insensitive):</para>
/// <code>
/// expr       := and ("or" and)*
/// and        := unary ("and" unary)*
/// unary      := "not" unary | "(" expr ")" | ("all" | "any") "(" expr ("," expr)* ")" | comparison
/// comparison := attribute ("=" | "!=") value | attribute ["not"] "in" "(" value ("," value)* ")"
/// value      := "quoted string" | 'quoted string' | word
/// </code>
/// Values compare case-insensitively after trimming. Attributes: see <see cref="Attributes"/>, plus
/// <c>custom.&lt;name&gt;</c>. Multi-valued attributes (<c>group</c>, <c>group_id</c>, <c>role</c>) match when any
/// value does; <c>group_id</c> names a group by its stable id, so a rule survives the group being renamed.
/// </summary>
internal sealed class RuleExpression
{
    /// <summary>The attributes a rule may use.</summary>
    public static readonly IReadOnlyList<string> Attributes =
    [
        "username", "user_id", "display_name", "email", "title", "department", "team", "location", "manager",
        "employment_status", "time_zone", "employee_number", "group", "group_id", "role",
    ];

    private readonly Node _root;

    private RuleExpression(string text, Node root)
    {
        Text = text;
        _root = root;
        var used = new SortedSet<string>(StringComparer.Ordinal);
        root.CollectAttributes(used);
        UsedAttributes = used;
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>Attributes the rule reads.</summary>
    public IReadOnlySet<string> UsedAttributes { get; }

    /// <summary>Parses a rule; throws <see cref="ApiException"/> with <see cref="ErrorCode.InvalidRule"/> saying where and why.</summary>
    public static RuleExpression Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ApiException(ErrorCode.InvalidRule, "the rule is empty");
        }
        if (text.Length > 4096)
        {
            throw new ApiException(ErrorCode.InvalidRule, "the rule is longer than 4096 characters");
        }
        var parser = new Parser(text);
        var root = parser.ParseExpression(0);
        parser.ExpectEnd();
        return new RuleExpression(text, root);
    }

    public bool Matches(IAttributeSource subject) => _root.Evaluate(subject);

    /// <summary>
    /// A necessary condition for a match, if the rule has one: the subject's <c>Attribute</c> must have one of
    /// <c>Values</c> (for example <c>department = Sales and …</c> needs department Sales). The planner indexes rules
    /// by it, so a person is evaluated only against rules that could match them.
    /// </summary>
    public (string Attribute, IReadOnlySet<string> Values)? Requirement => _root.Requirement();

    /// <summary>Reads a subject's attribute values, lower-cased and trimmed.</summary>
    internal interface IAttributeSource
    {
        /// <summary>The values of <paramref name="attribute"/> (empty when unset).</summary>
        IEnumerable<string> Values(string attribute);

        /// <summary>True when any value of <paramref name="attribute"/> is in <paramref name="values"/>.</summary>
        bool AnyIn(string attribute, IReadOnlySet<string> values) => Values(attribute).Any(values.Contains);
    }

    internal static string Normalize(string value) => value.Trim().ToLowerInvariant();

    private abstract class Node
    {
        public abstract bool Evaluate(IAttributeSource subject);

        public abstract void CollectAttributes(ISet<string> into);

        public virtual (string Attribute, IReadOnlySet<string> Values)? Requirement() => null;
    }

    private sealed class All(List<Node> items) : Node
    {
        public override bool Evaluate(IAttributeSource subject)
        {
            foreach (var item in items)
            {
                if (!item.Evaluate(subject))
                {
                    return false;
                }
            }
            return true;
        }

        public override void CollectAttributes(ISet<string> into) => items.ForEach(n => n.CollectAttributes(into));

        // Every part must hold, so any part's requirement is one; the narrowest indexes best.
        public override (string Attribute, IReadOnlySet<string> Values)? Requirement() =>
            items.Select(i => i.Requirement()).Where(r => r is not null).OrderBy(r => r!.Value.Values.Count).FirstOrDefault();
    }

    private sealed class Any(List<Node> items) : Node
    {
        public override bool Evaluate(IAttributeSource subject)
        {
            foreach (var item in items)
            {
                if (item.Evaluate(subject))
                {
                    return true;
                }
            }
            return false;
        }

        public override void CollectAttributes(ISet<string> into) => items.ForEach(n => n.CollectAttributes(into));

        // One part must hold: a requirement only when every part requires the same attribute (the union of values).
        public override (string Attribute, IReadOnlySet<string> Values)? Requirement()
        {
            var parts = items.Select(i => i.Requirement()).ToList();
            if (parts.Any(p => p is null) || parts.Select(p => p!.Value.Attribute).Distinct().Count() != 1)
            {
                return null;
            }
            return (parts[0]!.Value.Attribute, parts.SelectMany(p => p!.Value.Values).ToHashSet(StringComparer.Ordinal));
        }
    }

    private sealed class Not(Node inner) : Node
    {
        public override bool Evaluate(IAttributeSource subject) => !inner.Evaluate(subject);

        public override void CollectAttributes(ISet<string> into) => inner.CollectAttributes(into);
    }

    private sealed class In(string attribute, HashSet<string> values, bool negate) : Node
    {
        public override bool Evaluate(IAttributeSource subject) => subject.AnyIn(attribute, values) != negate;

        public override void CollectAttributes(ISet<string> into) => into.Add(attribute);

        public override (string Attribute, IReadOnlySet<string> Values)? Requirement() => negate ? null : (attribute, values);
    }

    private enum TokenKind
    {
        Word,
        String,
        LeftParen,
        RightParen,
        Comma,
        Equals,
        NotEquals,
        End,
    }

    private readonly record struct Token(TokenKind Kind, string Text, int Column);

    private sealed class Parser
    {
        private readonly List<Token> _tokens;
        private int _index;

        public Parser(string text) => _tokens = Lex(text);

        private Token Peek => _tokens[_index];

        public Node ParseExpression(int depth)
        {
            if (depth > 32)
            {
                throw Error(Peek, "the rule nests too deeply");
            }
            var items = new List<Node> { ParseAnd(depth) };
            while (IsKeyword(Peek, "or"))
            {
                _index++;
                items.Add(ParseAnd(depth));
            }
            return items.Count == 1 ? items[0] : new Any(items);
        }

        public void ExpectEnd()
        {
            if (Peek.Kind != TokenKind.End)
            {
                throw Error(Peek, $"expected 'and', 'or' or the end of the rule, found '{Peek.Text}'");
            }
        }

        private Node ParseAnd(int depth)
        {
            var items = new List<Node> { ParseUnary(depth) };
            while (IsKeyword(Peek, "and"))
            {
                _index++;
                items.Add(ParseUnary(depth));
            }
            return items.Count == 1 ? items[0] : new All(items);
        }

        private Node ParseUnary(int depth)
        {
            var token = Peek;
            if (IsKeyword(token, "not"))
            {
                _index++;
                return new Not(ParseUnary(depth + 1));
            }
            if (token.Kind == TokenKind.LeftParen)
            {
                _index++;
                var inner = ParseExpression(depth + 1);
                Expect(TokenKind.RightParen, "')'");
                return inner;
            }
            if ((IsKeyword(token, "all") || IsKeyword(token, "any")) && _tokens[_index + 1].Kind == TokenKind.LeftParen)
            {
                _index += 2;
                var items = new List<Node> { ParseExpression(depth + 1) };
                while (Peek.Kind == TokenKind.Comma)
                {
                    _index++;
                    items.Add(ParseExpression(depth + 1));
                }
                Expect(TokenKind.RightParen, "')' or ','");
                return IsKeyword(token, "all") ? new All(items) : new Any(items);
            }
            return ParseComparison();
        }

        private In ParseComparison()
        {
            var attrToken = Peek;
            if (attrToken.Kind != TokenKind.Word)
            {
                throw Error(attrToken, attrToken.Kind == TokenKind.End
                    ? "the rule ends where an attribute was expected"
                    : $"expected an attribute name, found '{attrToken.Text}'");
            }
            _index++;
            var attribute = CheckAttribute(attrToken);
            var op = Peek;
            if (op.Kind is TokenKind.Equals or TokenKind.NotEquals)
            {
                _index++;
                var value = ParseValue($"a value after '{op.Text}'");
                return new In(attribute, [value], op.Kind == TokenKind.NotEquals);
            }
            var negate = false;
            if (IsKeyword(op, "not") && IsKeyword(_tokens[_index + 1], "in"))
            {
                negate = true;
                _index++;
                op = Peek;
            }
            if (IsKeyword(op, "in"))
            {
                _index++;
                Expect(TokenKind.LeftParen, "'(' after 'in'");
                var values = new HashSet<string>(StringComparer.Ordinal) { ParseValue("a value in the list") };
                while (Peek.Kind == TokenKind.Comma)
                {
                    _index++;
                    values.Add(ParseValue("a value after ','"));
                }
                Expect(TokenKind.RightParen, "')' or ',' in the list");
                return new In(attribute, values, negate);
            }
            throw Error(op, op.Kind == TokenKind.End
                ? $"the rule ends after '{attrToken.Text}'; expected '=', '!=' or 'in'"
                : $"expected '=', '!=' or 'in' after '{attrToken.Text}', found '{op.Text}'");
        }

        private string ParseValue(string what)
        {
            var token = Peek;
            if (token.Kind is not (TokenKind.Word or TokenKind.String))
            {
                throw Error(token, token.Kind == TokenKind.End ? $"the rule ends where {what} was expected" : $"expected {what}, found '{token.Text}'");
            }
            _index++;
            return Normalize(token.Text);
        }

        private static string CheckAttribute(Token token)
        {
            var name = token.Text.ToLowerInvariant();
            name = name switch
            {
                "groups" => "group",
                "roles" => "role",
                "dept" => "department",
                "status" => "employment_status",
                "timezone" => "time_zone",
                _ => name,
            };
            if (name.StartsWith("custom.", StringComparison.Ordinal) && name.Length > 7 && ProfileRules.IsValidCustomKey(name[7..]))
            {
                return name;
            }
            if (!Attributes.Contains(name))
            {
                throw new ApiException(ErrorCode.InvalidRule,
                    $"unknown attribute '{token.Text}' at column {token.Column}; known attributes: {string.Join(", ", Attributes)}, custom.<name>");
            }
            return name;
        }

        private void Expect(TokenKind kind, string what)
        {
            if (Peek.Kind != kind)
            {
                throw Error(Peek, Peek.Kind == TokenKind.End ? $"the rule ends where {what} was expected" : $"expected {what}, found '{Peek.Text}'");
            }
            _index++;
        }

        private static bool IsKeyword(Token token, string keyword) =>
            token.Kind == TokenKind.Word && token.Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);

        private static ApiException Error(Token at, string message) =>
            new(ErrorCode.InvalidRule, $"rule syntax error at column {at.Column}: {message}");

        private static List<Token> Lex(string text)
        {
            var tokens = new List<Token>();
            var i = 0;
            while (i < text.Length)
            {
                var c = text[i];
                var column = i + 1;
                if (char.IsWhiteSpace(c))
                {
                    i++;
                    continue;
                }
                switch (c)
                {
                    case '(':
                        tokens.Add(new Token(TokenKind.LeftParen, "(", column));
                        i++;
                        continue;
                    case ')':
                        tokens.Add(new Token(TokenKind.RightParen, ")", column));
                        i++;
                        continue;
                    case ',':
                        tokens.Add(new Token(TokenKind.Comma, ",", column));
                        i++;
                        continue;
                    case '=':
                        var eq = i + 1 < text.Length && text[i + 1] == '=' ? 2 : 1;
                        tokens.Add(new Token(TokenKind.Equals, text.Substring(i, eq), column));
                        i += eq;
                        continue;
                    case '!' when i + 1 < text.Length && text[i + 1] == '=':
                        tokens.Add(new Token(TokenKind.NotEquals, "!=", column));
                        i += 2;
                        continue;
                    case '"' or '\'':
                        var value = new StringBuilder();
                        var quote = c;
                        i++;
                        while (true)
                        {
                            if (i >= text.Length)
                            {
                                throw new ApiException(ErrorCode.InvalidRule, $"rule syntax error at column {column}: the quoted value is not closed");
                            }
                            if (text[i] == '\\' && i + 1 < text.Length && (text[i + 1] == quote || text[i + 1] == '\\'))
                            {
                                value.Append(text[i + 1]);
                                i += 2;
                                continue;
                            }
                            if (text[i] == quote)
                            {
                                i++;
                                break;
                            }
                            value.Append(text[i++]);
                        }
                        tokens.Add(new Token(TokenKind.String, value.ToString(), column));
                        continue;
                }
                if (IsWordChar(c))
                {
                    var start = i;
                    while (i < text.Length && IsWordChar(text[i]))
                    {
                        i++;
                    }
                    tokens.Add(new Token(TokenKind.Word, text[start..i], column));
                    continue;
                }
                throw new ApiException(ErrorCode.InvalidRule, $"rule syntax error at column {column}: unexpected character '{c}'");
            }
            tokens.Add(new Token(TokenKind.End, "", text.Length + 1));
            return tokens;
        }

        private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '.' or '-' or '@' or ':' or '/' or '+';
    }
}
