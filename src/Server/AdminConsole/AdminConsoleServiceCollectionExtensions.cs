using Microsoft.Extensions.DependencyInjection;

namespace TeamComms.Server.AdminConsole;

/// <summary>Services behind the admin console's own endpoints (<see cref="ConsoleEndpoints"/>).</summary>
internal static class AdminConsoleServiceCollectionExtensions
{
    public static IServiceCollection AddTeamCommsAdminConsole(this IServiceCollection services)
    {
        services.AddSingleton<ServerStart>();
        services.AddSingleton<ServerFigures>();
        return services;
    }
}
