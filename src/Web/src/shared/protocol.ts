// Constants of docs/protocol.md: frame types (§5), close codes (§10).

export const FrameType = {
  Hello: 1,
  Ping: 2,
  Send: 3,
  Received: 4,
  Call: 5,
  Welcome: 64,
  Error: 65,
  Pong: 66,
  Ack: 67,
  Event: 68,
  Position: 69,
  Result: 70,
  Wipe: 71,
  Notify: 72,
  Pending: 73,
} as const;

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  TooBig: 1009,
  Internal: 1011,
  ProtocolError: 4000,
  AuthFailed: 4001,
  UnsupportedVersion: 4002,
  Resync: 4003,
  SessionRevoked: 4004,
  RateAbused: 4005,
  Wiped: 4006,
  HelloTimeout: 4007,
} as const;

/** Close codes after which reconnecting with the same token is pointless (§10). */
export const terminalCloseCodes: ReadonlySet<number> = new Set([
  CloseCode.AuthFailed, CloseCode.SessionRevoked, CloseCode.Wiped, CloseCode.UnsupportedVersion,
]);

/** An Error frame or an HTTP error body: `name` is the stable code of §9 (for example `not_member`). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(readonly code: string, message: string, readonly status = 0) {
    super(message || code);
  }
}
