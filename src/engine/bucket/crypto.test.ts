import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { collect, drain, fromBytes, type ByteStream } from '../streams.js';
import { pseudoRandomStream } from './blob-store.conformance.js';
import { decryptStream, encryptStream, generateIdentity, isAgeEncrypted, parseIdentities, validateRecipient } from './crypto.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

async function sha256(stream: ByteStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

describe('age encryption', () => {
  let alice: { identity: string; recipient: string };
  let bob: { identity: string; recipient: string };
  let dir: string;

  before(async () => {
    alice = await generateIdentity();
    bob = await generateIdentity();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-age-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates X25519 key pairs', () => {
    assert.match(alice.identity, /^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    assert.match(alice.recipient, /^age1[0-9a-z]{58}$/);
    assert.notEqual(alice.recipient, bob.recipient);
  });

  it('round-trips a multi-MiB stream for each of several recipients', async () => {
    const size = 5 * MiB + 12345;
    const expected = await sha256(pseudoRandomStream(size));
    const cipher = await collect(encryptStream(pseudoRandomStream(size), [alice.recipient, bob.recipient]));
    assert.ok(isAgeEncrypted(cipher));
    assert.ok(cipher.length > size);
    assert.equal(await sha256(decryptStream(fromBytes(cipher), [alice.identity])), expected);
    assert.equal(await sha256(decryptStream(fromBytes(cipher), [bob.identity])), expected);
  });

  it('round-trips an empty stream', async () => {
    const cipher = await collect(encryptStream(fromBytes(new Uint8Array(0)), [alice.recipient]));
    assert.equal((await collect(decryptStream(fromBytes(cipher), [alice.identity]))).length, 0);
  });

  it('refuses a wrong identity with IDENTITY_MISMATCH before yielding anything', async () => {
    const cipher = await collect(encryptStream(fromBytes(Buffer.from('secret')), [alice.recipient]));
    await assert.rejects(collect(decryptStream(fromBytes(cipher), [bob.identity])), (error) =>
      isLifeboatError(error, 'IDENTITY_MISMATCH') && /none of the given identities/i.test(error.message));
  });

  it('refuses tampered, truncated and foreign data with DECRYPT_FAILED', async () => {
    const cipher = await collect(encryptStream(pseudoRandomStream(200 * 1024), [alice.recipient]));
    const failed = (error: unknown): boolean => isLifeboatError(error, 'DECRYPT_FAILED');
    const payloadFlip = Buffer.from(cipher);
    payloadFlip[payloadFlip.length - 100] = (payloadFlip[payloadFlip.length - 100] ?? 0) ^ 1;
    await assert.rejects(drain(decryptStream(fromBytes(payloadFlip), [alice.identity])), failed);
    const headerFlip = Buffer.from(cipher);
    const macAt = headerFlip.indexOf('--- ') + 10;
    headerFlip[macAt] = headerFlip[macAt] === 0x41 ? 0x42 : 0x41;
    await assert.rejects(drain(decryptStream(fromBytes(headerFlip), [alice.identity])), failed);
    // Cut after two whole 64 KiB chunks: only the last-chunk flag tells that the rest is missing.
    const payload = 200 * 1024 + 4 * 16; // three full chunks and a partial one, each with a 16-byte tag
    const truncated = cipher.subarray(0, cipher.length - payload + 2 * (64 * 1024 + 16));
    await assert.rejects(drain(decryptStream(fromBytes(truncated), [alice.identity])), failed);
    await assert.rejects(drain(decryptStream(fromBytes(Buffer.from('PACK not age at all\n')), [alice.identity])), failed);
  });

  it('passes on the error of the stream it reads, not a crypto error', async () => {
    async function* broken(): ByteStream {
      yield Buffer.alloc(100_000);
      throw new LifeboatError('BUCKET_UNREACHABLE', 'connection reset');
    }
    await assert.rejects(drain(encryptStream(broken(), [alice.recipient])), (error) => isLifeboatError(error, 'BUCKET_UNREACHABLE'));
    const cipher = await collect(encryptStream(pseudoRandomStream(300_000), [alice.recipient]));
    async function* brokenCipher(): ByteStream {
      yield cipher.subarray(0, 150_000);
      throw new LifeboatError('BUCKET_UNREACHABLE', 'connection reset');
    }
    await assert.rejects(drain(decryptStream(brokenCipher(), [alice.identity])), (error) => isLifeboatError(error, 'BUCKET_UNREACHABLE'));
  });

  it('refuses to encrypt without recipients or decrypt without identities', async () => {
    await assert.rejects(drain(encryptStream(fromBytes(Buffer.from('x')), [])), (error) => isLifeboatError(error, 'RECIPIENT_INVALID'));
    await assert.rejects(drain(decryptStream(fromBytes(Buffer.from('x')), [])), (error) => isLifeboatError(error, 'IDENTITY_REQUIRED'));
  });

  it('writes what the age CLI decrypts, and decrypts what the age CLI encrypts', async () => {
    const plain = await collect(pseudoRandomStream(3 * MiB + 7));
    const identityFile = join(dir, 'key.txt');
    await writeFile(identityFile, `# a test key\n${alice.identity}\n`, { mode: 0o600 });

    const ours = join(dir, 'ours.age');
    await writeFile(ours, await collect(encryptStream(fromBytes(plain), [alice.recipient])));
    const decrypted = join(dir, 'ours.out');
    await run('age', ['-d', '-i', identityFile, '-o', decrypted, ours]);
    assert.ok(plain.equals(await readFile(decrypted)));

    const plainFile = join(dir, 'theirs.bin');
    await writeFile(plainFile, plain);
    const theirs = join(dir, 'theirs.age');
    await run('age', ['-r', bob.recipient, '-o', theirs, plainFile]);
    assert.ok(plain.equals(await collect(decryptStream(fromBytes(await readFile(theirs)), [bob.identity]))));
  });

  it('reads identity files that age-keygen writes', async () => {
    const keyFile = join(dir, 'keygen.txt');
    await run('age-keygen', ['-o', keyFile]);
    const identities = parseIdentities(await readFile(keyFile, 'utf8'));
    assert.equal(identities.length, 1);
    const { stdout } = await run('age-keygen', ['-y', keyFile]);
    const cipher = await collect(encryptStream(fromBytes(Buffer.from('hi')), [stdout.trim()]));
    assert.equal((await collect(decryptStream(fromBytes(cipher), identities))).toString(), 'hi');
  });

  it('keeps memory flat while encrypting and decrypting 200 MiB', async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
    try {
      await drain(decryptStream(encryptStream(pseudoRandomStream(200 * MiB, 'memory', 64 * 1024), [alice.recipient]), [alice.identity]));
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.ok(peak - before < 100 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(0)} MiB`);
  });
});

describe('parseIdentities', () => {
  it('takes identity lines and skips comments, blank lines and CRLF', async () => {
    const { identity } = await generateIdentity();
    const other = (await generateIdentity()).identity;
    assert.deepEqual(parseIdentities(`# created: 2026-01-01\r\n# public key: age1...\r\n\r\n${identity}\r\n  ${other}  \n`), [identity, other]);
  });

  it('refuses files without identities, with other lines, or encrypted ones, never echoing the line', async () => {
    const invalid = (error: unknown): boolean => isLifeboatError(error, 'IDENTITY_INVALID');
    assert.throws(() => parseIdentities('# only a comment\n\n'), invalid);
    assert.throws(() => parseIdentities(''), invalid);
    const { identity } = await generateIdentity();
    const typo = `${identity.slice(0, -1)}${identity.endsWith('Q') ? 'P' : 'Q'}`;
    assert.throws(() => parseIdentities(`${identity}\n${typo}\n`), (error) => invalid(error) && /Line 2/.test((error as Error).message) && !(error as Error).message.includes(typo));
    assert.throws(() => parseIdentities('ssh-ed25519 AAAAC3Nza...\n'), (error) => invalid(error) && /Line 1/.test((error as Error).message));
    assert.throws(() => parseIdentities('age-encryption.org/v1\n-> scrypt abc 18\n'), (error) => invalid(error) && /encrypted/.test((error as Error).message));
  });
});

describe('validateRecipient', () => {
  it('accepts X25519 recipients and refuses anything else with a clear message', async () => {
    validateRecipient((await generateIdentity()).recipient);
    const refused = (error: unknown): boolean => isLifeboatError(error, 'RECIPIENT_INVALID');
    for (const bad of ['', 'age1', 'age1xyz', 'AGE-SECRET-KEY-1ABC', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI', 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq']) {
      assert.throws(() => validateRecipient(bad), refused, bad);
    }
    assert.throws(() => validateRecipient('age1pq1qqqqqqqqqqqqqqq'), (error) => refused(error) && /post-quantum/.test((error as Error).message));
    const { identity } = await generateIdentity();
    assert.throws(() => validateRecipient(identity), (error) => refused(error) && !(error as Error).message.includes(identity) && /public key/.test((error as Error).message));
  });
});

describe('isAgeEncrypted', () => {
  it('recognises the age v1 header only', () => {
    assert.equal(isAgeEncrypted(Buffer.from('age-encryption.org/v1\n-> X25519 ...')), true);
    assert.equal(isAgeEncrypted(Buffer.from('age-encryption.org/v1')), false);
    assert.equal(isAgeEncrypted(Buffer.from('# v2 git bundle\n')), false);
    assert.equal(isAgeEncrypted(new Uint8Array(0)), false);
  });
});
