import net from 'node:net';
import { TargetGuard, TargetRefused, parseAllowedTargets, sendWebhook, type Resolver } from '../src';

/** A resolver that answers from a table and counts its calls; never the network. */
function stubResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: net.isIP(address) }));
  };
  return Object.assign(resolve, { calls });
}

/** A listener on another loopback address that records every connection: it must stay silent. */
async function silentListener(host: string): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const refusedCode = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return error instanceof TargetRefused ? error.code : `not refused: ${String(error)}`;
  }
  return 'allowed';
};

describe('the webhook target guard', () => {
  const resolver = stubResolver({
    'hooks.example.com': ['93.184.216.34'],
    'internal.example.com': ['10.0.0.7'],
    'mixed.example.com': ['93.184.216.34', '192.168.1.10'],
    'v6-private.example.com': ['fd00:ec2::254'],
    'mapped.example.com': ['::ffff:127.0.0.1'],
    'receiver.test': ['127.0.0.1'],
  });
  const guard = new TargetGuard(parseAllowedTargets([]), resolver);

  it.each([
    ['https://127.0.0.2/hook', 'loopback'],
    ['https://10.0.0.1/hook', 'private'],
    ['https://172.16.5.4/hook', 'private'],
    ['https://192.168.0.1/hook', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'metadata'],
    ['https://[::1]/hook', 'IPv6 loopback'],
    ['https://[fe80::1]/hook', 'IPv6 link-local'],
    ['https://[fd12:3456::1]/hook', 'unique-local'],
    ['https://[ff02::1]/hook', 'multicast'],
    ['https://224.0.0.1/hook', 'IPv4 multicast'],
    ['https://[::ffff:10.0.0.1]/hook', 'IPv4-mapped private'],
    ['https://0.0.0.0/hook', 'this network'],
    ['http://hooks.example.com/hook', 'plain http'],
    ['ftp://hooks.example.com/hook', 'another scheme'],
    ['https://user:pw@hooks.example.com/hook', 'credentials'],
    ['not a url', 'not a URL'],
  ])('refuses %s (%s) from the URL alone', (url) => {
    expect(refusedCode(() => guard.checkUrl(url))).toBe('webhook_target_refused');
  });

  it('takes a public https URL, and resolves nothing to judge it from the URL', () => {
    const calls = resolver.calls.length;
    expect(guard.checkUrl('https://hooks.example.com/hook').hostname).toBe('hooks.example.com');
    expect(guard.checkUrl('https://93.184.216.34/hook').hostname).toBe('93.184.216.34');
    expect(resolver.calls.length).toBe(calls);
  });

  it.each([
    ['https://internal.example.com/hook', '10.0.0.7'],
    ['https://mixed.example.com/hook', '192.168.1.10'],
    ['https://v6-private.example.com/hook', 'fd00:ec2::254'],
    ['https://mapped.example.com/hook', '::ffff:127.0.0.1'],
  ])('refuses %s, a name that resolves to %s', async (url, address) => {
    await expect(guard.check(url)).rejects.toMatchObject({ code: 'webhook_target_refused', details: { address } });
  });

  it('refuses at connection time, in the lookup every connection makes (DNS rebinding)', async () => {
    const rebinding = stubResolver({ 'rebind.example.com': ['93.184.216.34'] });
    const rebindingGuard = new TargetGuard(parseAllowedTargets([]), rebinding);
    await expect(rebindingGuard.check('https://rebind.example.com/')).resolves.toMatchObject({ addresses: ['93.184.216.34'] });
    // The name now points at the metadata service: the lookup the connection makes refuses it.
    rebinding.calls.length = 0;
    const url = new URL('https://rebind.example.com/');
    const lateResolver: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    const lookup = new TargetGuard(parseAllowedTargets([]), lateResolver).lookupFor(url);
    const error = await new Promise((resolve) => lookup('rebind.example.com', { all: true }, (err) => resolve(err)));
    expect(error).toBeInstanceOf(TargetRefused);
  });

  it('allows what WEBHOOK_ALLOWED_TARGETS lists, plain http included', async () => {
    const allowing = new TargetGuard(parseAllowedTargets(['receiver.test', '10.0.0.0/8', '::1', '169.254.169.254']), resolver);
    expect(allowing.checkUrl('http://receiver.test:8080/hook').port).toBe('8080');
    expect(allowing.checkUrl('http://10.0.0.1/hook').hostname).toBe('10.0.0.1');
    expect(allowing.checkUrl('https://[::1]/hook').hostname).toBe('[::1]');
    expect(allowing.checkUrl('http://169.254.169.254/').hostname).toBe('169.254.169.254');
    await expect(allowing.check('https://internal.example.com/hook')).resolves.toMatchObject({ addresses: ['10.0.0.7'] });
    // Listing one address does not open its neighbours.
    expect(refusedCode(() => allowing.checkUrl('https://169.254.169.253/'))).toBe('webhook_target_refused');
    expect(refusedCode(() => allowing.checkUrl('https://127.0.0.1/'))).toBe('webhook_target_refused');
  });

  it('says which entry of WEBHOOK_ALLOWED_TARGETS is wrong', () => {
    expect(() => parseAllowedTargets(['10.0.0.0/33'])).toThrow('"10.0.0.0/33"');
    expect(() => parseAllowedTargets(['host name'])).toThrow('"host name"');
    expect(() => parseAllowedTargets(['example.com/8'])).toThrow('"example.com/8"');
  });

  describe('sending', () => {
    let listener: Awaited<ReturnType<typeof silentListener>>;
    beforeAll(async () => {
      listener = await silentListener('127.0.0.2');
    });
    afterAll(async () => {
      await listener.close();
    });

    it('sends nothing to a refused address: the listener there hears no connection', async () => {
      const allowingOnlyOne = new TargetGuard(parseAllowedTargets(['127.0.0.1']), resolver);
      const result = await sendWebhook({ url: `http://127.0.0.2:${listener.port}/hook`, headers: {}, body: '{}', guard: allowingOnlyOne, timeoutMs: 2_000 });
      expect(result).toMatchObject({ ok: false, statusCode: null, error: { code: 'webhook_target_refused' } });
      expect(listener.connections()).toBe(0);
    });

    it('sends nothing to a name that resolves to a refused address', async () => {
      const sneaky = stubResolver({ 'sneaky.example.com': ['127.0.0.2'] });
      const result = await sendWebhook({ url: `https://sneaky.example.com:${listener.port}/hook`, headers: {}, body: '{}', guard: new TargetGuard(parseAllowedTargets([]), sneaky), timeoutMs: 2_000 });
      expect(result).toMatchObject({ ok: false, error: { code: 'webhook_target_refused' } });
      expect(sneaky.calls).toEqual(['sneaky.example.com']);
      expect(listener.connections()).toBe(0);
    });

    it('reaches it once it is listed (the listener hears the connection)', async () => {
      const allowing = new TargetGuard(parseAllowedTargets(['127.0.0.2']), resolver);
      const result = await sendWebhook({ url: `http://127.0.0.2:${listener.port}/hook`, headers: {}, body: '{}', guard: allowing, timeoutMs: 2_000 });
      expect(result.error?.code).toBe('webhook_connection_failed'); // the listener hangs up without answering
      expect(listener.connections()).toBe(1);
    });
  });
});
