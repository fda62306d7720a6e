import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { AccountsService } from './accounts/accounts.service';
import { SECRET_BOX } from './accounts/secret-box.provider';
import { AccountsController } from './api/accounts/accounts.controller';
import { AdaptersController } from './api/adapters/adapters.controller';
import { AuthController } from './api/auth/auth.controller';
import { AuthGuard } from './api/auth/auth.guard';
import { AuthService } from './api/auth/auth.service';
import { BridgesController } from './api/bridges/bridges.controller';
import { MediaController } from './api/media/media.controller';
import { MediaRelayService } from './media/media-relay.service';
import { BridgesService } from './bridges/bridges.service';
import { ConfigBridgesService } from './bridges/config-bridges.service';
import { CALLS_MODULE } from './calls';
import { ConversationsController } from './api/conversations/conversations.controller';
import { ContactsController } from './api/contacts/contacts.controller';
import { SearchController } from './api/conversations/search.controller';
import { SearchService } from './messaging/search.service';
import { RosterService } from './roster/roster.service';
import { ApiErrorFilter } from './api/error.filter';
import { EventsGateway } from './api/events/events.gateway';
import { HealthController } from './api/health/health.controller';
import { MetricsService } from './api/health/metrics.service';
import type { Logger } from './common/logger';
import type { AppConfig } from './config';
import { ClientEventsService } from './events/client-events.service';
import { ConversationsService } from './messaging/conversations.service';
import { IngestService } from './messaging/ingest.service';
import { OutboxService } from './messaging/outbox.service';
import { OwnSends } from './messaging/own-sends';
import { RelayClock } from './messaging/relay-clock';
import { OutboxLanes } from './messaging/outbox-lanes';
import type { QueuePort } from './queue';
import type { AdapterRegistry } from './registry/adapter-registry';
import type { SecretBox } from './storage/secret-box';
import { ADAPTER_REGISTRY, CONFIG, DATA_SOURCE, LOGGER, QUEUE } from './tokens';

/** What main.ts builds before Nest starts: infrastructure is opened (and can fail) outside the DI container. */
export interface GatewayInfrastructure {
  config: AppConfig;
  dataSource: DataSource;
  queue: QueuePort;
  registry: AdapterRegistry;
  secretBox: SecretBox;
  logger: Logger;
}

@Module({})
export class AppModule {
  static forRoot(infra: GatewayInfrastructure): DynamicModule {
    return {
      module: AppModule,
      controllers: [
        HealthController,
        AuthController,
        AdaptersController,
        AccountsController,
        ConversationsController,
        ContactsController,
        SearchController,
        BridgesController,
        MediaController,
        ...CALLS_MODULE.controllers,
      ],
      providers: [
        { provide: CONFIG, useValue: infra.config },
        { provide: DATA_SOURCE, useValue: infra.dataSource },
        { provide: QUEUE, useValue: infra.queue },
        { provide: ADAPTER_REGISTRY, useValue: infra.registry },
        { provide: SECRET_BOX, useValue: infra.secretBox },
        { provide: LOGGER, useValue: infra.logger },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useFactory: () => new ApiErrorFilter(infra.logger) },
        MetricsService,
        AuthService,
        ClientEventsService,
        IngestService,
        AccountsService,
        OutboxService,
        MediaRelayService,
        OwnSends,
        RelayClock,
        OutboxLanes,
        ConversationsService,
        RosterService,
        SearchService,
        BridgesService,
        ConfigBridgesService,
        EventsGateway,
        ...CALLS_MODULE.providers,
      ],
    };
  }
}
