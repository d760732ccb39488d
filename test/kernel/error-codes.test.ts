import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorCodeTable, errorMessage } from '../../src/kernel/error-codes.ts';
import { GuardrailError } from '../../src/loadtest/guardrails.ts';
import { unprocessable } from '../../src/kernel/errors.ts';

describe('error catalogue', () => {
  it('is the table docs/architecture.md shows', async () => {
    const doc = await readFile(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    expect(doc).toContain(errorCodeTable());
  });

  it('fills a template, and a 422 takes its status and message from it', () => {
    expect(errorMessage('too_many_symbols', { count: 60, limit: 50 })).toBe('symbols lists 60 symbols; the limit is 50');
    const error = unprocessable('insufficient_buying_power', { cost: '1000.00', available: '5.00' }, { accountId: 1 });
    expect({ status: error.status, code: error.code, message: error.message, details: error.details }).toEqual({
      status: 422,
      code: 'insufficient_buying_power',
      message: 'the order needs 1000.00 of buying power; 5.00 is available',
      details: { accountId: 1 },
    });
    expect(new GuardrailError('rate 9 exceeds the allowed maximum 1').message).toBe('rate 9 exceeds the allowed maximum 1');
  });

  it('every template placeholder is a plain name, and every status an HTTP error status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.message.replace(/\{\w+\}/g, ''), code).not.toMatch(/[{}]/);
    }
  });
});
