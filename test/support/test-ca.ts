// A throw-away certificate authority and a server certificate for 127.0.0.1 (and localhost), made with openssl for one test run:
// the run's Postgres serves TLS with it, and whatever trusts the CA (sslrootcert, or NODE_EXTRA_CA_CERTS as the
// deployed functions do) can connect with sslmode=verify-full.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** the CA's certificate (what a client trusts) */
  caFile: string;
  /** the server's certificate (subjectAltName IP:127.0.0.1) and its key */
  certFile: string;
  keyFile: string;
  remove(): void;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  chmodSync(dir, 0o755); // the postgres system user and the functions' user read the certificates
  try {
    openssl(dir, ['req', '-x509', ...P256, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=weather-users test CA']);
    openssl(dir, ['req', ...P256, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    // pg hands tls.connect no host for a server addressed by IP, so Node checks such a certificate against "localhost".
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '1',
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'server.crt',
    ]);
    rmSync(join(dir, 'ca.key')); // nothing else is ever signed with it
    for (const file of ['ca.crt', 'server.crt']) chmodSync(join(dir, file), 0o644);
    chmodSync(join(dir, 'server.key'), 0o600);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
