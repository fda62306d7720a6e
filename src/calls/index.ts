import { CallsController } from './calls.controller';
import { CallsService } from './calls.service';

export { CallsController } from './calls.controller';
export { CallsService, type CallView, type CallRouteInfo } from './calls.service';
export { RtpMediaLeg } from './media/rtp-media.leg';

/** What app.module.ts registers for calls (the module shares AppModule's providers, so it is not a Nest module). */
export const CALLS_MODULE = { controllers: [CallsController], providers: [CallsService] } as const;
