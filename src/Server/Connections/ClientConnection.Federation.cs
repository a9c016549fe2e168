using TeamComms.Protocol.Frames;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Connections;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// A send to a room hosted on another server: the Ack comes once the hub has ordered it. If that takes longer than
    /// the pending notice (or the hub is known to be failing), the client gets a Pending frame now, the in-flight slot
    /// is freed, and the Ack (or Error) follows on this connection when the hub answers. The proposal is durable in the
    /// outbox either way; a client that reconnects retries with the same transaction id and gets the same answer.
    /// </summary>
    private async Task SendForwardedAsync(SendFrame send, ForwardedProposal forwarded, long started)
    {
        if (await forwarded.WaitBrieflyAsync().ConfigureAwait(false))
        {
            AnswerForwarded(send, await forwarded.Result.ConfigureAwait(false), started);
            return;
        }
        SendControl(ServerFrameWriter.ToArray(b => ServerFrameWriter.WritePending(b, send.RequestId, send.RoomId, send.TransactionId)));
        _ = AnswerLaterAsync(send, forwarded, started);
    }

    private async Task AnswerLaterAsync(SendFrame send, ForwardedProposal forwarded, long started)
    {
        try
        {
            var result = await forwarded.Result.ConfigureAwait(false);
            if (!IsClosing)
            {
                AnswerForwarded(send, result, started);
            }
        }
        catch (Exception ex)
        {
            LogHandlerFault(_services.Logger, ex, Id);
        }
    }

    private void AnswerForwarded(SendFrame send, ForwardResult result, long started)
    {
        if (!result.Ok)
        {
            SendError(send.RequestId, result.Error!.Value, result.Message!);
            return;
        }
        _services.Metrics.RecordSendToDurable(_services.Time.GetElapsedTime(started));
        SendControl(ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteAck(b, send.RequestId, send.RoomId, result.Seq, result.Id, result.Timestamp)));
    }
}
