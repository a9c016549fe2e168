using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

public class AccountTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task Healthz_OnceStarted_Returns200()
    {
        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri(Server.BaseUrl, "/healthz"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task CreateUser_ByAdmin_StoresArgon2idHashAndAllowsLogin()
    {
        using var admin = await Server.AdminAsync();
        var created = await admin.CreateUserAsync("carol", "Carol", "carol@acme.example", "carol-password");
        Assert.Equal("carol@test.local", created.UserId);
        var record = Server.Services.GetAccountStore().FindUser("carol@test.local")!;
        Assert.StartsWith("$argon2id$", record.PasswordHash, StringComparison.Ordinal);
        Assert.DoesNotContain("carol-password", record.PasswordHash, StringComparison.Ordinal);
        using var http = Server.Http();
        var login = await http.LoginAsync("carol", "carol-password");
        Assert.StartsWith("tc_", login.AccessToken, StringComparison.Ordinal);
        // Only the token's hash is stored.
        var session = Server.Services.GetAccountStore().GetSession(long.Parse(login.SessionId[1..], System.Globalization.CultureInfo.InvariantCulture))!;
        Assert.Equal(TeamComms.Crypto.SecretToken.Hash(login.AccessToken), session.TokenHash);
    }

    [Fact]
    public async Task CreateUser_DuplicateUsername_IsConflict()
    {
        using var admin = await Server.AdminAsync();
        await admin.CreateUserAsync("dupe", "Dupe", password: "password-1");
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => admin.CreateUserAsync("dupe", "Dupe 2", password: "password-2"));
        Assert.Equal((ErrorCode.Conflict, 409), (ex.Code, ex.HttpStatus));
    }

    [Fact]
    public async Task CreateUser_ByNonAdmin_IsForbidden()
    {
        var user = await Server.CreateUserAsync();
        using var http = user.Http();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => http.CreateUserAsync("eve", "Eve", password: "password-1"));
        Assert.Equal((ErrorCode.Forbidden, 403), (ex.Code, ex.HttpStatus));
    }

    [Theory]
    [InlineData("Bad Name")]
    [InlineData("")]
    [InlineData("a@b")]
    public async Task CreateUser_InvalidUsername_IsBadRequest(string username)
    {
        using var admin = await Server.AdminAsync();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => admin.CreateUserAsync(username, "X", password: "password-1"));
        Assert.Equal(ErrorCode.BadRequest, ex.Code);
    }

    [Fact]
    public async Task Login_WrongPassword_IsInvalidCredentials()
    {
        var user = await Server.CreateUserAsync();
        using var http = Server.Http();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => http.LoginAsync(user.Username, "wrong-password"));
        Assert.Equal((ErrorCode.InvalidCredentials, 401), (ex.Code, ex.HttpStatus));
    }

    [Fact]
    public async Task Login_MalformedJson_IsBadRequestWithErrorBody()
    {
        using var http = new HttpClient();
        var response = await http.PostAsync(new Uri(Server.BaseUrl, "/v1/login"), new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();
        Assert.Equal("bad_request", body!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task SetupLink_SetsPasswordOnce()
    {
        using var admin = await Server.AdminAsync();
        var created = await admin.CreateUserAsync("dave", "Dave");
        Assert.NotNull(created.SetupToken);
        Assert.Contains("/setup#token=", created.SetupLink, StringComparison.Ordinal);
        using var http = Server.Http();
        await http.CompleteSetupAsync(created.SetupToken!, "dave-password");
        await http.LoginAsync("dave", "dave-password");
        var again = await Assert.ThrowsAsync<TeamCommsException>(() => http.CompleteSetupAsync(created.SetupToken!, "other-password"));
        Assert.Equal(ErrorCode.TokenInvalid, again.Code);
    }

    [Fact]
    public async Task Sessions_ListAndRevoke_ClosesLiveConnectionBeforeReturning()
    {
        var user = await Server.CreateUserAsync();
        using var second = Server.Http();
        var other = await second.LoginAsync(user.Username, "password-" + user.Username, "phone");
        await using var phone = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, other.AccessToken, new ClientOptions { AutoReconnect = false });
        using var http = user.Http();
        var sessions = await http.ListSessionsAsync();
        Assert.Contains(sessions, s => s.SessionId == other.SessionId && s.DeviceName == "phone");
        await http.RevokeSessionAsync(other.SessionId);
        // By the time revoke returned, the server side of that connection is closed: nothing can reach it any more.
        Assert.All(Server.Services.GetConnectionRegistry().ForSession(long.Parse(other.SessionId[1..], System.Globalization.CultureInfo.InvariantCulture)), c => Assert.True(c.IsClosing));
        await phone.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CloseCode.SessionRevoked, phone.CloseCode);
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, other.AccessToken));
        Assert.Equal(ErrorCode.SessionRevoked, ex.Code);
    }

    [Fact]
    public async Task Logout_RevokesTheToken()
    {
        var user = await Server.CreateUserAsync();
        using var http = user.Http();
        await http.LogoutAsync();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => http.MeAsync());
        Assert.Equal((ErrorCode.SessionRevoked, 401), (ex.Code, ex.HttpStatus));
    }

    [Fact]
    public async Task HttpApi_MissingOrBadToken_IsUnauthenticated()
    {
        using var none = Server.Http();
        Assert.Equal(ErrorCode.Unauthenticated, (await Assert.ThrowsAsync<TeamCommsException>(() => none.MeAsync())).Code);
        using var bad = Server.Http("tc_not-a-real-token");
        Assert.Equal(ErrorCode.TokenInvalid, (await Assert.ThrowsAsync<TeamCommsException>(() => bad.MeAsync())).Code);
    }
}

public class AccountClockTests
{
    [Fact]
    public async Task Login_RepeatedFailures_AreThrottledUntilTheWindowPasses()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Accounts:MaxFailuresPerAccount"] = "3" }, clock);
        var user = await server.CreateUserAsync("throttled");
        using var http = server.Http();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(ErrorCode.InvalidCredentials, (await Assert.ThrowsAsync<TeamCommsException>(() => http.LoginAsync("throttled", "nope"))).Code);
        }
        // Even the right password is refused while throttled.
        var limited = await Assert.ThrowsAsync<TeamCommsException>(() => http.LoginAsync("throttled", "password-throttled"));
        Assert.Equal((ErrorCode.RateLimited, 429), (limited.Code, limited.HttpStatus));
        clock.Advance(TimeSpan.FromMinutes(16));
        await http.LoginAsync("throttled", "password-throttled");
    }

    [Fact]
    public async Task Hello_ExpiredToken_IsRefusedWithTokenExpired()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Accounts:SessionLifetime"] = "01:00:00" }, clock);
        var user = await server.CreateUserAsync();
        clock.Advance(TimeSpan.FromHours(2));
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => user.ConnectAsync());
        Assert.Equal(ErrorCode.TokenExpired, ex.Code);
    }
}
