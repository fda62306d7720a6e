import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { contentDisposition } from '../../media/media-check';
import { MediaRelayService } from '../../media/media-relay.service';
import { ApiError } from '../api-error';
import { Public } from '../auth/auth.guard';

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
  constructor(private readonly media: MediaRelayService) {}

  @Get(':id/:filename')
  @ApiOkResponse({ description: 'The file (its name in the path is for people; the id alone finds it).' })
  async named(@Param('id') id: string, @Res() res: Response): Promise<void> {
    await this.serve(id, res);
  }

  @Get(':id')
  async bare(@Param('id') id: string, @Res() res: Response): Promise<void> {
    await this.serve(id, res);
  }

  private async serve(id: string, res: Response): Promise<void> {
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
