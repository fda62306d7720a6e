import { Controller, Get, HttpStatus, Inject, Param, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { SlidingWindowLimiter } from '../../common/sliding-window-limiter';
import type { AppConfig } from '../../config';
import { contentDisposition } from '../../media/media-check';
import { MediaRelayService } from '../../media/media-relay.service';
import { ApiError } from '../api-error';
import { Public } from '../auth/auth.guard';
import { CONFIG } from '../../tokens';

/**
 * Files bridges relayed, for people on networks that cannot take the file itself (IRC, XMPP): public,
 * because an IRC user opens the link without a gateway account, and unguessable (192-bit ids). Served with
 * the type the gateway checked, never sniffed by the browser, and sandboxed so that nothing in a file
 * runs with the gateway's origin.
 */
@ApiTags('media')
@Controller('media')
@Public()
export class MediaController {
  /** Downloads per client address (`media.rateLimit`): the links are public, the bandwidth is not free. */
  private readonly limiter: SlidingWindowLimiter;

  constructor(
    private readonly media: MediaRelayService,
    @Inject(CONFIG) config: AppConfig,
  ) {
    const rl = config.media.rateLimit;
    this.limiter = new SlidingWindowLimiter(rl.requests, rl.windowSeconds * 1000);
  }

  @Get(':id/:filename')
  @ApiOkResponse({ description: 'The file (its name in the path is for people; the id alone finds it).' })
  @ApiTooManyRequestsResponse({ description: 'Too many downloads from this address; see Retry-After.' })
  async named(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.serve(id, req, res);
  }

  @Get(':id')
  async bare(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.serve(id, req, res);
  }

  private async serve(id: string, req: Request, res: Response): Promise<void> {
    // req.ip is the client's address as `server.trustProxy` allows (X-Forwarded-For from a trusted proxy).
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const wait = this.limiter.retryAfter(client);
    if (wait > 0) {
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'RATE_LIMITED',
        `too many downloads from this address; try again in ${Math.ceil(wait / 1000)} s`,
      );
    }
    this.limiter.record(client);
    const file = await this.media.find(id);
    if (!file) throw ApiError.notFound('media');
    res.status(200);
    res.setHeader('Content-Type', file.mimeType);
    res.setHeader('Content-Length', String(file.data.byteLength));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
    res.setHeader('Content-Disposition', contentDisposition(file.mimeType, file.name));
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // A file never changes under its id, but a deleted message's file must stop being served soon.
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.end(file.data);
  }
}
