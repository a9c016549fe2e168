using Microsoft.Extensions.Logging.Abstractions;
using TeamComms.Crypto;
using TeamComms.Server.Audit;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// The cluster-wide audit chain without NATS (normal stage): audit logs in cluster mode stage pending rows, and two
/// "nodes" that apply the same log through their <see cref="IApplyTimeRows"/> hook, with different group-commit
/// boundaries and a rolled-back batch on one of them, store the same chain, which each verifies and signs with its own key.
/// </summary>
public sealed class AuditApplyChainTests
{
    [Fact]
    public async Task TwoNodesApplyingTheSameLog_DifferentBatches_SameChain_EachVerifiesWithItsOwnKey()
    {
        using var a = new Node("tc-audit-a", commitEvery: 1);
        using var b = new Node("tc-audit-b", commitEvery: 3);
        var log = new FakeClusterLog([a, b]);
        a.Audit.UseClusterLog(log);
        b.Audit.UseClusterLog(log);

        // Records on both nodes at once, standalone and with a change (policy row), all through the one log.
        var tasks = new List<Task>();
        for (var i = 0; i < 10; i++)
        {
            var n = i;
            tasks.Add(Task.Run(() => a.Audit.RecordAsync(new AuditEvent("admin@a", "user.create", $"u{n}", "10.0.0.1"))));
            tasks.Add(Task.Run(() => b.Audit.RecordWithAsync([new AuditEvent("admin@b", "policy.content.update", "content", "10.0.0.2",
                new Dictionary<string, string> { ["edit_window_minutes"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture) })], async rows =>
            {
                Assert.All(rows, r => Assert.Equal(AuditLog.PendingFamily, r.Family)); // no seq or hash decided by the recorder
                await b.Audit.CommitAsync(rows, _ => throw new InvalidOperationException("cluster mode never writes locally"));
                return (true, 0);
            })));
        }
        await Task.WhenAll(tasks);
        log.Flush();

        var chainA = a.Store.Scan(1, forward: true).ToList();
        var chainB = b.Store.Scan(1, forward: true).ToList();
        Assert.Equal(20, chainA.Count);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), chainA.Select(r => r.Seq));
        Assert.Equal(chainA.Select(r => (r.Seq, r.Ts, r.Action, r.Target, r.Prev, r.Hash)), chainB.Select(r => (r.Seq, r.Ts, r.Action, r.Target, r.Prev, r.Hash)));
        // Time never goes back along the chain, even though the log's clock did once (see FakeClusterLog).
        Assert.True(chainA.Zip(chainA.Skip(1)).All(p => p.First.Ts <= p.Second.Ts));

        foreach (var node in new[] { a, b })
        {
            Assert.Equal(20, node.Audit.LastSeq);
            var head = node.Audit.SignHead();
            Assert.NotNull(head);
            Assert.Equal(chainA[^1].Hash, head!.Hash);
            var verification = node.Audit.Verify();
            Assert.True(verification.Ok, string.Join("; ", verification.Problems.Select(p => p.Message)));
            Assert.Equal(20, verification.LastSignedSeq);
        }
        Assert.NotEqual(a.Audit.Heads()[^1].KeyId, b.Audit.Heads()[^1].KeyId); // per-node signing keys
    }

    /// <summary>One node: its store, its own signing key, its audit log in cluster mode.</summary>
    private sealed class Node : IDisposable
    {
        private readonly string _dir;
        private readonly RocksStore _rocks;
        private readonly ServerKey _key;
        private readonly List<StagedWrite> _pending = [];
        private readonly int _commitEvery;
        private int _uncommitted;

        public Node(string name, int commitEvery)
        {
            _dir = TempDirectory.Create(name);
            _rocks = new RocksStore(_dir, new StorageOptions(), NullLogger.Instance);
            Store = new AuditStore(_rocks);
            _key = new ServerKey(SigningKey.Generate());
            Audit = new AuditLog(Store, TimeProvider.System, _key, new ServerIdentity("test.local"), NullLogger<AuditLog>.Instance);
            _commitEvery = commitEvery;
        }

        public AuditStore Store { get; }

        public AuditLog Audit { get; }

        private IApplyTimeRows Hook => Audit;

        /// <summary>Applies one proposal's rows as the sequencer does; commits every <c>commitEvery</c> proposals.</summary>
        public void Apply(IReadOnlyList<StagedWrite> rows, long nowMs)
        {
            _pending.AddRange(rows.Select(r => Hook.OnApply(r, nowMs)));
            if (++_uncommitted >= _commitEvery)
            {
                Commit();
            }
        }

        /// <summary>A batch that fails: its rows are dropped, the node re-applies them (as the applier does after a storage error).</summary>
        public void ApplyAndRollBack(IReadOnlyList<StagedWrite> rows, long nowMs)
        {
            Commit();
            _ = rows.Select(r => Hook.OnApply(r, nowMs)).ToList();
            Hook.OnRolledBack();
        }

        public void Commit()
        {
            if (_pending.Count > 0)
            {
                Store.Write([.. _pending]);
                _pending.Clear();
            }
            _uncommitted = 0;
            Hook.OnCommitted();
        }

        public void Dispose()
        {
            Audit.Dispose();
            _key.Dispose();
            _rocks.Dispose();
            TempDirectory.Delete(_dir);
        }
    }

    /// <summary>
    /// The cluster log reduced to its order: each proposal is applied by every node in one order, with the log's
    /// timestamp (node a commits after every proposal, node b after every third). Node b rolls back a batch once and
    /// re-applies it; the clock steps back once, as a log entry's timestamp may after a leader change.
    /// </summary>
    private sealed class FakeClusterLog(IReadOnlyList<Node> nodes) : IRoomLog
    {
        private readonly Lock _lock = new();
        private long _now = 1_700_000_000_000;
        private int _count;

        public ulong Epoch => 1;

        public long LastPosition => 0;

        public Task<AppendOutcome> AppendAsync(Proposal proposal)
        {
            var rows = ((SystemProposal)proposal).Writes;
            lock (_lock)
            {
                _count++;
                _now += _count == 7 ? -5_000 : 10;
                foreach (var node in nodes)
                {
                    if (_count == 5 && node == nodes[1])
                    {
                        node.ApplyAndRollBack(rows, _now);
                    }
                    node.Apply(rows, _now);
                }
            }
            return Task.FromResult(new AppendOutcome(null, null, [], null));
        }

        public void Flush()
        {
            lock (_lock)
            {
                foreach (var node in nodes)
                {
                    node.Commit();
                }
            }
        }

        public Task<T> BarrierAsync<T>(Func<long, T> action) => Task.FromResult(action(0));
    }
}
