import { createEvent, fromKafkaRecord, headerString, toKafkaRecord } from '@video-pipeline/events';
import { sampleVideoUploaded } from '../../../test/support/events';

const uploaded = () => sampleVideoUploaded({ source: '/test' });

const asRecord = (event: ReturnType<typeof uploaded>) => {
  const record = toKafkaRecord(event);
  return { key: Buffer.from(record.key), value: Buffer.from(record.value), headers: Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)])) };
};

describe('the CloudEvents Kafka binding', () => {
  it('round-trips an event through binary mode', () => {
    const event = uploaded();
    const record = toKafkaRecord(event, 'pfx.');
    expect(record).toMatchObject({ topic: 'pfx.video.uploaded', key: event.subject, headers: { ce_id: event.id, ce_type: 'video.uploaded', 'content-type': 'application/json' } });
    expect(fromKafkaRecord(asRecord(event))).toEqual(event);
  });

  it('reads headers given as strings or repeated, and JSON with parameters', () => {
    const event = uploaded();
    const record = asRecord(event);
    const headers = { ...record.headers, ce_specversion: '1.0', ce_type: ['video.uploaded', 'ignored'], 'content-type': Buffer.from('application/json; charset=utf-8') };
    expect(fromKafkaRecord({ ...record, headers })).toEqual(event);
    expect(() => fromKafkaRecord({ ...record, headers: { ...headers, ce_specversion: '0.3' } })).toThrow(/unsupported ce_specversion "0.3"/);
    expect(() => fromKafkaRecord({ ...record, headers: { ...headers, 'content-type': 'text/json' } })).toThrow(/got "text\/json"/);
  });

  it('drops data fields its schema does not know, so a producer may add fields before consumers know them', () => {
    const event = uploaded();
    const record = asRecord(event);
    const value = Buffer.from(JSON.stringify({ ...event.data, addedLater: 'x', object: { ...event.data.object, addedLater: 1 } }));
    expect(fromKafkaRecord({ ...record, value })).toEqual(event);
  });

  it('reads a header as text whether it arrives as a buffer, a string or a list', () => {
    const headers = { a: Buffer.from('from-buffer'), b: 'plain', c: [Buffer.from('first'), Buffer.from('second')], d: undefined };
    expect(['a', 'b', 'c', 'd', 'missing'].map((name) => headerString(headers, name))).toEqual(['from-buffer', 'plain', 'first', undefined, undefined]);
    expect(headerString(undefined, 'a')).toBeUndefined();
  });

  it('refuses to create an event whose data breaks its schema', () => {
    expect(() => createEvent('video.uploaded', { source: '/t', subject: 'x', data: { schemaVersion: 1 } as never })).toThrow();
  });

  it.each([
    ['missing headers', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ce_type: r.headers.ce_type } }), 'malformed_event', /missing CloudEvents headers: ce_specversion, ce_id/],
    ['empty headers', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ...r.headers, ce_specversion: Buffer.alloc(0), ce_type: Buffer.alloc(0) } }), 'malformed_event', /missing CloudEvents headers: ce_specversion, ce_type$/],
    ['another specversion', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ...r.headers, ce_specversion: Buffer.from('1.01') } }), 'malformed_event', /unsupported ce_specversion "1.01"/],
    ['bad JSON', (r: ReturnType<typeof asRecord>) => ({ ...r, value: Buffer.from('{nope') }), 'malformed_event', /not JSON/],
    ['a non-UUID id', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ...r.headers, ce_id: Buffer.from('42') } }), 'malformed_event', /UUID/],
    ['an unknown type', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ...r.headers, ce_type: Buffer.from('video.exploded') } }), 'unsupported_event', /unknown event type "video.exploded"/],
    ['a type that only starts like a known one', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ...r.headers, ce_type: Buffer.from('video.uploaded.v2') } }), 'unsupported_event', /unknown event type "video.uploaded.v2"/],
    ['another schema version', (r: ReturnType<typeof asRecord>) => ({ ...r, value: Buffer.from(JSON.stringify({ ...JSON.parse(r.value.toString()), schemaVersion: 2 })) }), 'unsupported_event', /schemaVersion 2/],
    ['data that breaks the schema', (r: ReturnType<typeof asRecord>) => ({ ...r, value: Buffer.from(JSON.stringify({ ...JSON.parse(r.value.toString()), videoId: 'x' })) }), 'malformed_event', /videoId/],
    ['another content type', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ...r.headers, 'content-type': Buffer.from('text/plain') } }), 'malformed_event', /content-type must be application\/json, got "text\/plain"/],
    ['a content type shorter than JSON\'s', (r: ReturnType<typeof asRecord>) => ({ ...r, headers: { ...r.headers, 'content-type': Buffer.from('application/') } }), 'malformed_event', /got "application\/"/],
  ])('rejects %s permanently', (_name, mutate, code, message) => {
    const broken = mutate(asRecord(uploaded()));
    let thrown: unknown;
    try {
      fromKafkaRecord(broken);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code, retriable: false, message: expect.stringMatching(message) });
  });
});
