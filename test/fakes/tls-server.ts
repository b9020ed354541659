/**
 * WAN targets for the probe tests, all on 127.0.0.1 port 0: a TLS server with a certificate from
 * a test CA (made with the `openssl` CLI), the same server with certificates the probe must refuse
 * (self-signed, signed by another CA, issued for another name), and a server that accepts TCP and
 * never speaks TLS. Each records what it saw (SNI, open connections).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { opensslBinary } from './mosquitto.js';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  /** The test CA the probe is given (PEM). */
  ca: string;
  /** Issued by the test CA for IP:127.0.0.1, IP:::1, DNS:localhost. */
  good: KeyPair;
  /** Self-signed for 127.0.0.1: DEPTH_ZERO_SELF_SIGNED_CERT. */
  selfSigned: KeyPair;
  /** Issued for 127.0.0.1 by a CA the probe does not trust: UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  otherCa: KeyPair;
  /** Issued by the test CA, but for DNS:wrong.invalid only: ERR_TLS_CERT_ALTNAME_INVALID. */
  wrongName: KeyPair;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Generates the test PKI in a temp directory (removed afterwards). Needs `openssl`. */
export async function makeTestPki(): Promise<TestPki> {
  const openssl = opensslBinary();
  if (!openssl) throw new Error('openssl is not installed; the TLS probe tests cannot make certificates');
  const dir = await mkdtemp(join(tmpdir(), 'probe-pki-'));
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  const f = (name: string) => join(dir, name);
  try {
    const makeCa = (name: string) =>
      run([
        'req',
        '-x509',
        ...EC,
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.crt`),
        '-days',
        '2',
        '-subj',
        `/CN=ddns-watchdog ${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
    const issue = async (name: string, ca: string, san: string): Promise<KeyPair> => {
      run(['req', ...EC, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
      await writeFile(
        f(`${name}.ext`),
        `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
      );
      run([
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        f(`${ca}.crt`),
        '-CAkey',
        f(`${ca}.key`),
        '-CAcreateserial',
        '-out',
        f(`${name}.crt`),
        '-days',
        '2',
        '-extfile',
        f(`${name}.ext`),
      ]);
      return {
        cert: await readFile(f(`${name}.crt`), 'utf8'),
        key: await readFile(f(`${name}.key`), 'utf8'),
      };
    };
    makeCa('test-ca');
    makeCa('other-ca');
    const good = await issue('good', 'test-ca', 'IP:127.0.0.1,IP:::1,DNS:localhost');
    const otherCa = await issue('other', 'other-ca', 'IP:127.0.0.1');
    const wrongName = await issue('wrong-name', 'test-ca', 'DNS:wrong.invalid');
    run([
      'req',
      '-x509',
      ...EC,
      '-keyout',
      f('self.key'),
      '-out',
      f('self.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    return {
      ca: await readFile(f('test-ca.crt'), 'utf8'),
      good,
      selfSigned: { cert: await readFile(f('self.crt'), 'utf8'), key: await readFile(f('self.key'), 'utf8') },
      otherCa,
      wrongName,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface LoopbackServer {
  host: '127.0.0.1';
  port: number;
  /** `ip:port`, as `wan_targets` writes it. */
  target: string;
  /** Connections open on the server side right now. */
  openConnections(): number;
  close(): Promise<void>;
}

export interface FakeTlsServer extends LoopbackServer {
  /** The SNI names clients sent, in order (a client that sent none adds nothing). */
  snis: string[];
  /** TCP connections accepted so far. */
  accepted(): number;
}

async function listen(server: Server, sockets: Set<Socket>): Promise<LoopbackServer> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    target: `127.0.0.1:${port}`,
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TLS server with `pair`; it completes handshakes and then waits for the client to leave. */
export async function startTlsServer(pair: KeyPair): Promise<FakeTlsServer> {
  const snis: string[] = [];
  let accepted = 0;
  const server = createTlsServer({
    cert: pair.cert,
    key: pair.key,
    // Called with the ClientHello's SNI, only when the client sent one; the default context answers.
    SNICallback: (name, cb) => {
      snis.push(name);
      cb(null, undefined);
    },
  });
  server.on('connection', () => {
    accepted++;
  });
  server.on('secureConnection', (s: TLSSocket) => s.on('error', () => {}));
  // Failed handshakes (the probe refusing the certificate, or leaving at once) are expected here.
  server.on('tlsClientError', () => {});
  const base = await listen(server, new Set());
  return { ...base, snis, accepted: () => accepted };
}

/** Accepts TCP and never answers: a TLS handshake to it can only end at the client's deadline. */
export function startHungServer(): Promise<LoopbackServer> {
  // Reads (and drops) what the client sends, so it sees the client's close; never writes.
  return listen(
    createTcpServer((s) => s.resume()),
    new Set(),
  );
}
