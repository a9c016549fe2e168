using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Authentication and TLS between TeamComms nodes and NATS, as docs/operations.md configures them: a password and
/// mutual TLS (the server verifies the node's client certificate, the node verifies the server's against its CA).
/// Certificates are made at test time. One JetStream server with Replicas=1 keeps it light; the three-server harness
/// runs the same <c>tls {}</c> block on routes when asked (<see cref="NatsClusterOptions"/>).
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterTlsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task MutualTlsAndPassword_NodesExchangeMessages_UntrustedCaAndWrongPasswordStopTheNodeWithAClearError()
    {
        var pki = TestPki.Create(Directory.CreateTempSubdirectory("tc-pki-").FullName);
        try
        {
            var tlsEnv = new Dictionary<string, string>
            {
                ["TEAMCOMMS__CLUSTER__REPLICAS"] = "1",
                ["TEAMCOMMS__CLUSTER__TLSCAFILE"] = pki.CaFile,
                ["TEAMCOMMS__CLUSTER__TLSCERTFILE"] = pki.NodeCertFile,
                ["TEAMCOMMS__CLUSTER__TLSKEYFILE"] = pki.NodeKeyFile,
            };
            await using var cluster = await ClusterHarness.StartAsync(2, tlsEnv, new NatsClusterOptions
            {
                Servers = 1,
                TlsCertFile = pki.ServerCertFile,
                TlsKeyFile = pki.ServerKeyFile,
                TlsCaFile = pki.CaFile,
                TlsVerifyClients = true,
            });

            // A message sent on node 1 reaches a member connected to node 2: it went through NATS, over TLS.
            using var admin = await cluster.AdminAsync(0);
            await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
            await admin.CreateUserAsync("bob", "Bob", password: "bob-password-1");
            using var aliceHttp = new TeamCommsHttpClient(cluster.Url(0));
            var aliceLogin = await aliceHttp.LoginAsync("alice", "alice-password-1");
            await using var alice = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), aliceLogin.AccessToken);
            var room = await alice.CreateRoomAsync("Secure", invite: ["bob@proc.test"]);
            using var bobHttp = new TeamCommsHttpClient(cluster.Url(1));
            var bobLogin = await bobHttp.LoginAsync("bob", "bob-password-1");
            await using var bob = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), bobLogin.AccessToken);
            await using var bobEvents = new EventCollector(bob);
            await bob.JoinAsync(room);
            await alice.SendTextAsync(room, "over tls");
            var got = await bobEvents.WaitForMessagesAsync(room, 1);
            Assert.Equal("over tls", got.Single(e => e.Type == EventTypes.Message).ContentMap["body"]);

            // The server's own view: both nodes' connections are TLS, authenticated as the configured user.
            using var http = new HttpClient();
            using var connz = JsonDocument.Parse(await http.GetStringAsync(new Uri(cluster.Nats.MonitorUrl(0), "connz?auth=true")));
            var nodes = connz.RootElement.GetProperty("connections").EnumerateArray()
                .Where(c => c.TryGetProperty("name", out var n) && n.GetString() is "teamcomms-node1" or "teamcomms-node2").ToList();
            Assert.Equal(2, nodes.Select(c => c.GetProperty("name").GetString()).Distinct().Count());
            Assert.All(nodes, c =>
            {
                Assert.StartsWith("1.", c.GetProperty("tls_version").GetString());
                Assert.Equal(NatsCluster.User, c.GetProperty("authorized_user").GetString());
            });

            // A node that trusts another CA does not connect (and never in plaintext): it stops at start, saying why.
            var untrusting = await FailedStartAsync(cluster, new Dictionary<string, string> { ["TEAMCOMMS__CLUSTER__TLSCAFILE"] = pki.OtherCaFile });
            Assert.Contains("the TLS connection to NATS", untrusting, StringComparison.Ordinal);
            Assert.Contains(pki.OtherCaFile, untrusting, StringComparison.Ordinal);

            // A wrong password: the node stops at start, naming the credentials.
            var refused = await FailedStartAsync(cluster, new Dictionary<string, string> { ["TEAMCOMMS__CLUSTER__PASSWORD"] = "not-the-password" });
            Assert.Contains("NATS refused this node's credentials", refused, StringComparison.Ordinal);

            // The refused nodes changed nothing: the two others still exchange messages.
            await alice.SendTextAsync(room, "still fine");
            await bobEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "still fine"));
        }
        finally
        {
            Directory.Delete(pki.Directory, recursive: true);
        }
    }

    /// <summary>Starts node 3 with overrides and returns its output once it exited on its own.</summary>
    private async Task<string> FailedStartAsync(ClusterHarness cluster, Dictionary<string, string> overrides)
    {
        var env = new Dictionary<string, string>(overrides)
        {
            ["TEAMCOMMS__CLUSTER__NODEID"] = "node3",
            ["TEAMCOMMS__CLUSTER__NODEINDEX"] = "3",
        };
        var started = cluster.StartNodeLikeAsync(0, Path.Combine(cluster.DataDirectory(2), "refused-" + Guid.NewGuid().ToString("N")[..6]), env);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => started);
        Assert.StartsWith("server exited", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ClusterStartException", ex.Message, StringComparison.Ordinal);
        output.WriteLine(ex.Message.Split('\n').FirstOrDefault(l => l.Contains("ClusterStartException", StringComparison.Ordinal)));
        return ex.Message;
    }

    /// <summary>A CA, a server certificate for 127.0.0.1, a node's client certificate, and an unrelated CA, as PEM files.</summary>
    private sealed record TestPki(string Directory, string CaFile, string OtherCaFile, string ServerCertFile, string ServerKeyFile, string NodeCertFile, string NodeKeyFile)
    {
        private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
        private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

        public static TestPki Create(string dir)
        {
            using var ca = Authority("CN=TeamComms test NATS CA");
            using var other = Authority("CN=Some other CA");
            var pki = new TestPki(dir, Path.Combine(dir, "ca.pem"), Path.Combine(dir, "other-ca.pem"), Path.Combine(dir, "server.pem"),
                Path.Combine(dir, "server-key.pem"), Path.Combine(dir, "node.pem"), Path.Combine(dir, "node-key.pem"));
            File.WriteAllText(pki.CaFile, ca.ExportCertificatePem());
            File.WriteAllText(pki.OtherCaFile, other.ExportCertificatePem());
            // The server's certificate serves routes too (they authenticate both ways), hence both usages.
            Leaf(ca, "CN=127.0.0.1", [ServerAuth, ClientAuth], pki.ServerCertFile, pki.ServerKeyFile);
            Leaf(ca, "CN=teamcomms-node", [ClientAuth], pki.NodeCertFile, pki.NodeKeyFile);
            return pki;
        }

        private static X509Certificate2 Authority(string name)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        }

        private static void Leaf(X509Certificate2 ca, string name, Oid[] usages, string certFile, string keyFile)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-30), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(16));
            File.WriteAllText(certFile, cert.ExportCertificatePem());
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }
    }
}
