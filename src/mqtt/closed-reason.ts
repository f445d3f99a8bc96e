// Why an MQTT connection closed, in the words nats-server uses for every client (connz `reason`).
// The connection logs its own, more specific text; monitoring shows this one.

/** The connz reason for the text an MQTT connection closed with. */
export function closedReasonOf(text: string): string {
  switch (text) {
    case "client closed":
    case "client disconnected":
      return "Client Closed";
    case "TLS handshake failure":
      return "TLS Handshake Failure";
    case "authentication timeout":
      return "Authentication Timeout";
    case "authentication failure":
      return "Authentication Failure";
    case "session taken over":
      return "Duplicate Client ID";
    case "slow consumer":
      return "Slow Consumer (Pending Bytes)";
    case "keep alive timeout":
      return "Stale Connection";
    case "server shutdown":
      return "Server Shutdown";
  }
  if (text.startsWith("read error")) return "Read Error";
  if (text.startsWith("authentication failed")) return "Authentication Failure";
  if (text.startsWith("account ") && text.endsWith(" not found")) return "Missing Account";
  // a CONNECT refused or a malformed packet
  return "Protocol Violation";
}
