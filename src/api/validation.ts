import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error';

function flatten(errors: ValidationError[], prefix = ''): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    for (const msg of Object.values(e.constraints ?? {}))
      out.push({ field, message: msg.replace(/^property (\S+) should not exist$/, 'unknown field') });
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/**
 * Global DTO validation: wrong types and unknown fields are a 400 naming each field. Bodies are checked
 * against their DTO class; nothing unvalidated reaches a service.
 */
export function apiValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      const message = details.length
        ? details.map((d) => `${d.field}: ${d.message}`).join('; ')
        : 'the request body must be a JSON object';
      return ApiError.validation(message, details);
    },
  });
}
