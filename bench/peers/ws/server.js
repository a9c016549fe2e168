// A plain WebSocket broadcaster on npm `ws`: the hand-rolled baseline for bench/TeamComms.Load --target ws.
// A client joins a room with ws://host:port/?room=NAME; every message it sends is sent, as is, to every client of
// that room (the sender too), one WebSocket message per payload. Nothing is stored or acknowledged.
// A client whose send buffer passes 4 MiB (TeamComms' default queue limit) is closed with 4003 and dropped.
// Usage: node server.js [port]   (0 = any free port; prints "listening on PORT")
'use strict';
const { WebSocketServer } = require('ws');

const LIMIT = 4 * 1024 * 1024;
const rooms = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] || 8081), perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const room = new URL(req.url, 'http://x').searchParams.get('room') || '';
  let members = rooms.get(room);
  if (!members) {
    members = new Set();
    rooms.set(room, members);
  }
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    for (const m of members) {
      if (m.readyState !== 1) continue;
      if (m.bufferedAmount > LIMIT) {
        members.delete(m);
        m.close(4003, 'slow consumer');
        continue;
      }
      m.send(data, { binary: isBinary });
    }
  });
  ws.on('close', () => members.delete(ws));
  ws.on('error', () => members.delete(ws));
});

wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
