// MQTT 3.1.1 and 5.0 control packets: types, reason codes and the decoded shapes.

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;
export const AUTH = 15;

export const PACKET_NAMES = [
  "RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
  "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
];

/** 3.1.1 CONNACK return codes */
export const RC3 = {
  accepted: 0x00,
  badProtocol: 0x01,
  identifierRejected: 0x02,
  serverUnavailable: 0x03,
  badUserOrPassword: 0x04,
  notAuthorized: 0x05,
} as const;

/** MQTT 5 reason codes */
export const RC = {
  success: 0x00,
  grantedQoS1: 0x01,
  grantedQoS2: 0x02,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  continueAuth: 0x18,
  unspecified: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdNotValid: 0x85,
  badUserOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  banned: 0x8a,
  serverShuttingDown: 0x8b,
  badAuthMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdInUse: 0x91,
  packetIdNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  payloadFormatInvalid: 0x99,
  retainNotSupported: 0x9a,
  qosNotSupported: 0x9b,
  useAnotherServer: 0x9c,
  serverMoved: 0x9d,
  sharedSubNotSupported: 0x9e,
  connectionRateExceeded: 0x9f,
  maximumConnectTime: 0xa0,
  subIdsNotSupported: 0xa1,
  wildcardSubsNotSupported: 0xa2,
} as const;

/** MQTT 5 properties (those a packet may carry; which ones is checked by the decoder's caller). */
export interface Properties {
  payloadFormat?: number;
  messageExpiry?: number;
  contentType?: string;
  /** byte string (latin1) */
  responseTopic?: string;
  correlationData?: Buffer;
  subscriptionIds?: number[];
  sessionExpiry?: number;
  assignedClientId?: string;
  serverKeepAlive?: number;
  authMethod?: string;
  authData?: Buffer;
  requestProblemInfo?: number;
  willDelay?: number;
  requestResponseInfo?: number;
  responseInfo?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  /** byte strings (latin1), in order; names may repeat */
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubAvailable?: number;
  subIdAvailable?: number;
  sharedSubAvailable?: number;
}

export interface Will {
  /** byte string */
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  props?: Properties;
}

export interface ConnectPacket {
  /** "MQTT" or "MQIsdp" */
  protocolName: string;
  /** 3 (3.1), 4 (3.1.1), 5 */
  version: number;
  clean: boolean;
  keepAlive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  props?: Properties;
}

export interface PublishPacket {
  qos: 0 | 1 | 2;
  dup: boolean;
  retain: boolean;
  /** byte string; may be empty in 5.0 with a topic alias */
  topic: string;
  /** the topic's raw bytes (a slice of the packet) */
  topicBytes: Buffer;
  pid: number;
  payload: Buffer;
  props?: Properties;
}

export interface SubscriptionRequest {
  /** byte string */
  filter: string;
  qos: number;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
}

export interface SubscribePacket {
  pid: number;
  subs: SubscriptionRequest[];
  props?: Properties;
}

export interface UnsubscribePacket {
  pid: number;
  filters: string[];
  props?: Properties;
}

export interface AckPacket {
  pid: number;
  reason: number;
  props?: Properties;
}

export interface DisconnectPacket {
  reason: number;
  props?: Properties;
}

export interface AuthPacket {
  reason: number;
  props?: Properties;
}
