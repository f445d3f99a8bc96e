// MQTT 3.1.1 and 5.0: the adapter between MQTT clients and the routing core.
import type { IncomingMessage } from "node:http";
import type { Server } from "../server/server.js";
import type { WebSocketTransport } from "../transport/websocket.js";
import { MqttBroker } from "./broker.js";

export { MqttBroker } from "./broker.js";
export { topicToSubject, subjectToTopic, filterSubjects, parseShared, TopicError } from "./topic.js";

/** Starts the MQTT listener from `server.options.mqtt` and registers it with the server. */
export async function startMqtt(server: Server): Promise<MqttBroker> {
  const o = server.options.mqtt;
  if (!o) throw new Error("mqtt: no mqtt configuration");
  const broker = new MqttBroker(server, o);
  await broker.start();
  server.addListener({ name: "mqtt", get port() { return broker.port; }, stopAccepting: () => broker.stopAccepting(), close: () => broker.close() });
  return broker;
}

/** The WebSocket listener's hook for MQTT over WebSocket (`/mqtt`, `Sec-WebSocket-Protocol: mqtt`). */
export function mqttWebSocketHook(broker: MqttBroker): (t: WebSocketTransport, req: IncomingMessage) => void {
  return (t) => {
    broker.addConnection(t);
  };
}
