// The `junction` command: flags and config file → a running server; signals as nats-server
// handles them (SIGINT/SIGTERM stop gracefully, SIGUSR2 enters lame duck mode).
import { ConfigError } from "../config/index.js";
import { startResolved } from "../index.js";
import { Logger } from "../logger.js";
import { JUNCTION_VERSION, SERVER_VERSION } from "../version.js";
import { FlagError, HELP_TEXT, parseFlags, resolveFlags } from "./flags.js";

export async function main(argv: string[]): Promise<void> {
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`junction: ${e.message}\n${HELP_TEXT}`);
      process.exit(1);
    }
    throw e;
  }
  switch (flags.command) {
    case "help":
      process.stdout.write(HELP_TEXT);
      return;
    case "version":
      process.stdout.write(`junction: v${JUNCTION_VERSION} (nats-server ${SERVER_VERSION} compatible)\n`);
      return;
    case "bench": {
      const { runBench } = await import("../bench/index.js");
      process.exitCode = await runBench(flags.args);
      return;
    }
  }
  const bootLog = new Logger({ logtime: true });
  let options;
  try {
    options = resolveFlags(flags, { warn: (m) => bootLog.warn(m) });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof FlagError) {
      process.stderr.write(`junction: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  if (flags.checkConfig) {
    process.stdout.write(`junction: configuration file ${flags.config ?? "(none)"} test is successful\n`);
    return;
  }
  const logger = new Logger({ debug: options.debug, trace: options.trace, logtime: options.logtime, file: options.log_file });
  let server;
  try {
    server = await startResolved(options, { logger });
  } catch (e) {
    logger.fatal((e as Error).message);
    process.exit(1);
  }
  const s = server;
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) {
      logger.warn(`Received ${sig} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`Trapped "${sig}" signal`);
    void s.close();
  };
  process.on("SIGINT", () => stop("interrupt"));
  process.on("SIGTERM", () => stop("terminated"));
  process.on("SIGUSR2", () => {
    logger.info('Trapped "user defined signal 2" signal');
    void s.enterLameDuckMode();
  });
  await s.closed;
  process.exit(0);
}
