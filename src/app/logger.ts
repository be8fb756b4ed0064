import { pino, type Logger } from 'pino';

/**
 * The one root logger: JSON lines on stdout. Header values from policies and secrets are
 * never passed to it; as a second guard, any field named like a credential is redacted.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level,
      base: { service: 'nomad-promoter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['token', '*.token', 'headers', '*.headers', 'authorization', '*.authorization'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream,
  );
}
