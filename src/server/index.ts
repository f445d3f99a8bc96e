export { Server, urlHost } from "./server.js";
export type { Listener } from "./server.js";
export { commandName } from "./files.js";
