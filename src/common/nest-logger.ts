import type { LoggerService } from '@nestjs/common';
import type { Logger } from './logger';

/** Routes Nest's framework messages into our logger. */
export class NestLoggerBridge implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error(String(message), { context, trace });
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn(String(message), context ? { context } : undefined);
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
  verbose(message: unknown, context?: string): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
}
