export { Server, urlHost, secretEquals } from "./server.js";
export type { Listener } from "./server.js";
export { commandName } from "./files.js";
