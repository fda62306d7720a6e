import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import type { QueuePort } from '../../queue';
import { checkDatabase } from '../../storage';
import { DATA_SOURCE, QUEUE } from '../../tokens';
import { Public } from '../auth/auth.guard';
import { MetricsService } from './metrics.service';
import { OUTBOX_QUEUE, INGEST_QUEUE } from '../../messaging/queues';

@ApiTags('health')
@Controller()
@Public()
export class HealthController {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(QUEUE) private readonly queue: QueuePort,
    private readonly metrics: MetricsService,
  ) {}

  /** 200 when the process, storage and queue are usable; 503 naming what is not. */
  @Get('healthz')
  @ApiOkResponse({ description: '{ status: "ok", checks }' })
  async health(@Res() res: Response): Promise<void> {
    const [storage, queue] = await Promise.all([
      checkDatabase(this.ds).catch((e: unknown) => ({ ok: false, message: String(e) })),
      this.queue.check().catch((e: unknown) => ({ ok: false, message: String(e) })),
    ]);
    const ok = storage.ok && queue.ok;
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ok' : 'unavailable',
      checks: { storage, queue },
      ...(ok
        ? {}
        : {
            error: {
              code: 'UNAVAILABLE',
              message: [storage, queue]
                .filter((c) => !c.ok)
                .map((c) => c.message)
                .join('; '),
            },
          }),
    });
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiExcludeEndpoint()
  async metricsText(): Promise<string> {
    for (const q of [INGEST_QUEUE, OUTBOX_QUEUE]) {
      try {
        const s = await this.queue.stats(q);
        for (const [state, n] of Object.entries(s) as [string, number][])
          this.metrics.queueJobs.set({ queue: q, state }, n);
      } catch {
        // Queue stats are best effort: /healthz reports an unusable queue.
      }
    }
    return this.metrics.registry.metrics();
  }
}
