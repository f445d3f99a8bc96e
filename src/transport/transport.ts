// A byte stream to one peer, as protocol connections see it. TCP sockets and WebSocket
// connections both present this, so a protocol adapter never knows which it runs over.

export type TransportType = "tcp" | "websocket";

export interface Transport {
  readonly type: TransportType;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** bytes handed to `write` that the OS has not taken yet */
  readonly writableLength: number;
  /** Writes the chunks in order, as one gathered write where the transport can. */
  write(chunks: Buffer[]): void;
  /** Called with each received chunk; the chunk may be kept (it is not reused). */
  onData(cb: (chunk: Buffer) => void): void;
  /** Called once, when the connection is gone for whatever reason. */
  onClose(cb: (err?: Error) => void): void;
  /** Called when everything written so far has reached the OS. */
  onDrain(cb: () => void): void;
  /** Stops reading from the peer (backpressure to a fast publisher). */
  pause(): void;
  resume(): void;
  /** Closes after what was written is sent. */
  end(): void;
  /** Closes now, dropping anything unsent. */
  destroy(): void;
}
