using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace TeamComms.Server.Connections;

/// <summary>Kestrel socket-transport settings that the delivery path depends on (see <see cref="ConnectionOptions"/>).</summary>
internal static class DeliveryTransport
{
    public static IServiceCollection AddTeamCommsDeliveryTransport(this IServiceCollection services)
    {
        services.AddSingleton<IConfigureOptions<SocketTransportOptions>>(sp => new ConfigureOptions<SocketTransportOptions>(o =>
            o.UnsafePreferInlineScheduling = sp.GetRequiredService<IOptions<ConnectionOptions>>().Value.InlineSocketScheduling));
        return services;
    }
}
