using TeamComms.Server.Backups;
using TeamComms.Server.Hosting;

// Offline maintenance commands run instead of the server (see docs/operations.md).
if (args.Length > 0 && args[0] == "restore")
{
    return RestoreCommand.Run(args[1..]);
}

var app = TeamCommsApp.Build(args);
await app.RunAsync();
return 0;
