global using EventId = TeamComms.Protocol.Events.EventId;
