export { Authenticator, isBcrypt } from "./authenticator.js";
export type { AuthContext, AuthOutcome, Credentials } from "./authenticator.js";
export { PermissionSet, subjectsCollide } from "./permissions.js";
export { secretEquals } from "./secret.js";
