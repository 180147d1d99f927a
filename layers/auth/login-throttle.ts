// Sign-in that can be neither guessed nor denied (docs/security.md): which counters judge a login try, and their
// numbers. Three counters and one kind of trust:
//   1. per account and client address (IPv4, IPv6 /64; and the /48 around it at 4x): a stranger's failures slow only
//      the stranger's address, never the owner's;
//   2. per client address across all accounts (and per /48 at 4x): spraying one password over many names;
//   3. per account, tries from clients without a device token that reached a password check: slowed past a few,
//      refused at a ceiling (NIST SP 800-63B: at most 100 consecutive failures), until it starts over or a success.
// A device token (device-tokens.ts) of that account passes counter 3, never 1 and 2; one that failed too often is
// no longer trusted. Every refusal is a 429 with Retry-After: no try ever waits on the server.
import { createHmac } from 'node:crypto';
import { addressKeys } from '../ip-address';
import { HttpProblem } from '../problems';

export interface CounterRule {
  delayFrom: number;
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  windowSeconds: number;
}
export interface Counter {
  scope: string;
  key: string;
  rule: CounterRule;
}
export interface Wait {
  scope: string;
  seconds: number;
}

/** What the throttle needs of storage (the service hands it layers/db/login-counters.ts). */
export interface LoginCounters {
  admit(counters: readonly Counter[]): Promise<Wait | undefined>;
  claim(counter: Counter, ceiling: number): Promise<Wait | undefined>;
  release(counters: readonly Counter[]): Promise<void>;
  recordFailure(counters: readonly Counter[]): Promise<void>;
  forget(counters: readonly Counter[]): Promise<void>;
}

export interface LoginThrottleSettings {
  /** counter 1: failures of one account from one address before that address waits */
  nameAddressFailures: number;
  /** counter 2: failures from one address across accounts before it waits */
  addressFailures: number;
  /** counters 1 and 2: the first wait, doubling with each further failure up to the cap */
  delaySeconds: number;
  maxDelaySeconds: number;
  /** counters 1 and 2 start over once this long has passed since their last wait ended */
  windowSeconds: number;
  /** counter 3: untrusted failures before the account's untrusted tries are spaced, and that spacing */
  accountSlowdownFailures: number;
  accountSlowdownDelaySeconds: number;
  /** counter 3: untrusted failures that refuse every untrusted try, until the count starts over */
  accountMaxFailures: number;
  accountWindowSeconds: number;
  /** failures with one device token before it is no longer trusted; it lasts as long as the token */
  deviceMaxFailures: number;
  deviceTtlSeconds: number;
  /** keys the digests that stand for names no account has (the device token key) */
  secret: string;
}

/** One try at logging in, as the throttle sees it. */
export interface LoginTry {
  username: string;
  /** the client's canonical address (layers/http/client-address.ts) */
  address: string;
  /** the account of that name, if there is one */
  userId?: string;
  /** the id of a device token the client sent that is valid for that account */
  deviceId?: string;
}

/** A /48 holds 65,536 /64s: its counters allow this many times what one /64's do. */
const NETWORK_FACTOR = 4;
/** Names without an account are counted in buckets, the first 4 hex digits of a keyed digest: 65,536 rows at most. */
const UNKNOWN_NAME_BUCKETS_HEX_DIGITS = 4;

const DETAILS: Record<string, string> = {
  'account+address': 'too many failed logins for this username from this address',
  'account+network': 'too many failed logins for this username from this network',
  address: 'too many failed logins from this address',
  network: 'too many failed logins from this network',
  account: 'too many failed logins for this username from devices it has not signed in from',
};

function refusal(wait: Wait): HttpProblem {
  return new HttpProblem(429, `${DETAILS[wait.scope] ?? 'too many failed logins'}, try again in ${wait.seconds} s`, { 'retry-after': String(wait.seconds) });
}

/** Whose account a try is for: its id, or for a name without one a keyed digest bucket (never the name itself). */
function accountOf({ userId, username }: LoginTry, secret: string): string {
  if (userId) return `user:${userId}`;
  const digest = createHmac('sha256', secret).update(username.toLowerCase()).digest('hex');
  return `unknown:${digest.slice(0, UNKNOWN_NAME_BUCKETS_HEX_DIGITS)}`;
}

/** The counters that judge one try, with the rules of the settings `s`. */
function countersOf(attempt: LoginTry, s: LoginThrottleSettings) {
  const slowing = (delayFrom: number): CounterRule => ({
    delayFrom,
    firstDelaySeconds: s.delaySeconds,
    maxDelaySeconds: Math.max(s.maxDelaySeconds, s.delaySeconds),
    windowSeconds: s.windowSeconds,
  });
  const account = accountOf(attempt, s.secret);
  const { address, network } = addressKeys(attempt.address);
  const byAddress: Counter[] = [
    { scope: 'account+address', key: `${account}|${address}`, rule: slowing(s.nameAddressFailures) },
    { scope: 'address', key: address, rule: slowing(s.addressFailures) },
  ];
  if (network) {
    byAddress.push({ scope: 'account+network', key: `${account}|${network}`, rule: slowing(s.nameAddressFailures * NETWORK_FACTOR) });
    byAddress.push({ scope: 'network', key: network, rule: slowing(s.addressFailures * NETWORK_FACTOR) });
  }
  const accountRule = {
    delayFrom: s.accountSlowdownFailures,
    firstDelaySeconds: s.accountSlowdownDelaySeconds,
    maxDelaySeconds: s.accountSlowdownDelaySeconds,
    windowSeconds: s.accountWindowSeconds,
  };
  const deviceRule = { delayFrom: s.deviceMaxFailures, firstDelaySeconds: 0, maxDelaySeconds: 0, windowSeconds: s.deviceTtlSeconds };
  return {
    byAddress,
    account: { scope: 'account', key: account, rule: accountRule } as Counter,
    device: attempt.deviceId ? ({ scope: 'device', key: attempt.deviceId, rule: deviceRule } as Counter) : undefined,
  };
}

/** The login throttle over `store`, with the service's settings (read per try). */
export function loginThrottle(store: LoginCounters, settings: () => LoginThrottleSettings) {
  return {
    /** The counters of one try: admit it, have it check the password, then tell them how it went. */
    attempt(attempt: LoginTry) {
      const s = settings();
      const c = countersOf(attempt, s);
      let trusted = false;
      // Counted before the password check (so that concurrent tries cannot pass a ceiling together).
      const claimed = () => (trusted ? [c.device!] : [c.account]);
      return {
        /** The 429 problem when the try may not be made now; undefined when it may (it is then counted). */
        async admit(): Promise<HttpProblem | undefined> {
          // Counters 1 and 2 first: a try they refuse counts nowhere else.
          const wait = await store.admit(c.byAddress);
          if (wait) return refusal(wait);
          trusted = c.device !== undefined && (await store.claim(c.device, s.deviceMaxFailures)) === undefined;
          if (trusted) return undefined;
          const untrusted = await store.claim(c.account, s.accountMaxFailures);
          return untrusted && refusal(untrusted);
        },

        /** Runs the password check; a try it never made (bcrypt's line was full, say) is not counted. */
        async check(verify: () => Promise<boolean>): Promise<boolean> {
          try {
            return await verify();
          } catch (err) {
            await store.release(claimed()).catch(() => undefined);
            throw err;
          }
        },

        /** The password was wrong (or the name has no account). */
        failed: () => store.recordFailure(c.byAddress),

        /** The owner is in: its address's own count, the account's untrusted count and the device's failures start over. */
        succeeded: () => store.forget([c.byAddress[0], c.account, ...(trusted && c.device ? [c.device] : [])]),
      };
    },
  };
}
