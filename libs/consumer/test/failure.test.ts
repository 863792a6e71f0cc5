import { KafkaJSError, KafkaJSNonRetriableError } from 'kafkajs';
import { PipelineError } from '@video-pipeline/errors';
import { classifyFailure } from '../src';

describe('classifyFailure decides between retry and dead letter', () => {
  it('follows the retriable flag of our error codes', () => {
    expect(classifyFailure(new PipelineError('processing_failed', 'corrupt container'))).toEqual({ retriable: false, code: 'processing_failed', message: 'corrupt container' });
    expect(classifyFailure(new PipelineError('malformed_event', 'bad JSON'))).toEqual({ retriable: false, code: 'malformed_event', message: 'bad JSON' });
    expect(classifyFailure(new PipelineError('temporarily_unavailable', 'storage busy'))).toEqual({ retriable: true, code: 'temporarily_unavailable', message: 'storage busy' });
    expect(classifyFailure(new PipelineError('storage_unavailable', 'S3 down'))).toMatchObject({ retriable: true });
  });

  it('follows the retriable flag of kafkajs errors', () => {
    expect(classifyFailure(new KafkaJSError('broker went away', { retriable: true }))).toEqual({ retriable: true, code: 'kafka_error', message: 'broker went away' });
    expect(classifyFailure(new KafkaJSNonRetriableError('topic is invalid'))).toEqual({ retriable: false, code: 'kafka_error', message: 'topic is invalid' });
  });

  it('assumes anything unknown is transient, named after its class, so a bug still ends in the dead-letter topic after the retries', () => {
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'id')"))).toEqual({
      retriable: true,
      code: 'TypeError',
      message: "Cannot read properties of undefined (reading 'id')",
    });
    expect(classifyFailure(new Error('boom'))).toEqual({ retriable: true, code: 'Error', message: 'boom' });
  });

  it('copes with things thrown that are not errors', () => {
    expect(classifyFailure('just a string')).toEqual({ retriable: true, code: 'unknown', message: 'just a string' });
    expect(classifyFailure(undefined)).toEqual({ retriable: true, code: 'unknown', message: 'undefined' });
  });
});
