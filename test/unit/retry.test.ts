// The ARM retry rule: which answers are retried, how long it waits, and when it hands the error back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHttpHeaders, createPipelineRequest, RestError, type PipelineResponse } from '@azure/core-rest-pipeline';
import { backoffMs, transientRetryStrategy } from '../../runtime/src/azure/retry';

const settings = { maxRetries: 4, retryDelayInMs: 100, maxRetryDelayInMs: 1000 };
const strategy = transientRetryStrategy(settings);

function response(status: number, headers: Record<string, string> = {}): PipelineResponse {
  return { status, headers: createHttpHeaders(headers), request: createPipelineRequest({ url: 'https://arm.example/x' }) };
}

describe('backoffMs', () => {
  it('doubles per retry, caps at the maximum, and keeps the jitter within the upper half', () => {
    assert.equal(
      backoffMs(0, settings, () => 0),
      50,
    );
    assert.equal(
      backoffMs(0, settings, () => 1),
      100,
    );
    assert.equal(
      backoffMs(2, settings, () => 1),
      400,
    );
    assert.equal(
      backoffMs(10, settings, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(10, settings, () => 0),
      500,
    );
  });
});

describe('transientRetryStrategy', () => {
  const retried: Array<[string, PipelineResponse | undefined, RestError | undefined]> = [
    ['429 without Retry-After', response(429), undefined],
    ['500', response(500), undefined],
    ['502', response(502), undefined],
    ['503', response(503), undefined],
    ['408', response(408), undefined],
    ['a refused connection', undefined, new RestError('refused', { code: 'ECONNREFUSED' })],
    ['a reset connection', undefined, new RestError('reset', { code: 'ECONNRESET' })],
  ];
  for (const [what, res, error] of retried) {
    it(`retries ${what} after a backoff within the limits`, () => {
      const m = strategy.retry({ retryCount: 1, response: res, responseError: error });
      assert.ok(m.retryAfterInMs !== undefined && m.retryAfterInMs >= 100 && m.retryAfterInMs <= 200, JSON.stringify(m));
    });
  }

  const notRetried: Array<[string, PipelineResponse]> = [
    ['200', response(200)],
    ['400', response(400)],
    ['404', response(404)],
    ['409', response(409)],
    ['501', response(501)],
  ];
  for (const [what, res] of notRetried) {
    it(`does not retry ${what}`, () => assert.deepEqual(strategy.retry({ retryCount: 0, response: res }), { skipStrategy: true }));
  }

  it('honours a short Retry-After', () => {
    assert.equal(strategy.retry({ retryCount: 0, response: response(429, { 'retry-after': '0' }) }).retryAfterInMs, 0);
    assert.equal(strategy.retry({ retryCount: 0, response: response(503, { 'retry-after-ms': '300' }) }).retryAfterInMs, 300);
  });

  it('hands a Retry-After longer than it may wait back to the caller instead of holding the request', () => {
    assert.deepEqual(strategy.retry({ retryCount: 0, response: response(429, { 'retry-after': '120' }) }), { skipStrategy: true });
  });
});
