import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdapterRegistry } from '../../registry/adapter-registry';
import { ADAPTER_REGISTRY } from '../../tokens';

@ApiTags('adapters')
@ApiBearerAuth()
@Controller('api/v1/adapters')
export class AdaptersController {
  constructor(@Inject(ADAPTER_REGISTRY) private readonly registry: AdapterRegistry) {}

  @Get()
  @ApiOkResponse({ description: '[{ id, displayName, version, capabilities, source }]' })
  list() {
    return this.registry.list();
  }
}
