using TeamComms.Server.Hosting;

var app = TeamCommsApp.Build(args);
await app.RunAsync();
