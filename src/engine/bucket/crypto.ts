/**
 * age encryption (age-encryption.org/v1) of stored objects, streaming through the
 * `age-encryption` package's Web stream API in 64 KiB chunks: constant memory.
 * Only X25519 recipients: Debian's age CLI (1.1) — the recovery path that needs
 * nothing of ours — cannot decrypt post-quantum (age1pq1...) files.
 */
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { LifeboatError, toLifeboatError } from '../errors.js';
import { fromWebStream, toWebStream, type ByteStream } from '../streams.js';

const MAGIC = Buffer.from('age-encryption.org/v1\n');
const NOT_X25519 = /^age1(pq|tag|tagpq)1/;
const IDENTITY_LINE = /^AGE-SECRET-KEY-(PQ-)?1/;

/** Encrypts to every recipient; any one of their identities decrypts. */
export async function* encryptStream(plain: ByteStream, recipients: string[]): ByteStream {
  if (recipients.length === 0) throw new LifeboatError('RECIPIENT_INVALID', 'Encryption needs at least one recipient (age1...).');
  const encrypter = new Encrypter();
  for (const recipient of recipients) {
    validateRecipient(recipient);
    encrypter.addRecipient(recipient);
  }
  const source = tracked(plain);
  try {
    yield* fromWebStream(await encrypter.encrypt(toWebStream(source.stream)));
  } catch (error) {
    throw source.failed(error) ? toLifeboatError(error) : new LifeboatError('INTERNAL', `Encryption failed: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Decrypts with the first identity that matches a recipient. Fails with IDENTITY_MISMATCH
 * before yielding anything when none does, and with DECRYPT_FAILED on damaged data
 * (each 64 KiB chunk is authenticated before it is yielded, truncation included).
 */
export async function* decryptStream(cipher: ByteStream, identities: string[]): ByteStream {
  if (identities.length === 0) throw new LifeboatError('IDENTITY_REQUIRED', 'This data is encrypted with age and no identity was given to decrypt it.');
  const decrypter = new Decrypter();
  identities.forEach((identity, index) => {
    try {
      decrypter.addIdentity(identity);
    } catch (error) {
      throw new LifeboatError('IDENTITY_INVALID', `Identity ${index + 1} is not a valid age identity (AGE-SECRET-KEY-1...).`, { cause: error });
    }
  });
  const source = tracked(cipher);
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await decrypter.decrypt(toWebStream(source.stream));
  } catch (error) {
    if (source.failed(error)) throw toLifeboatError(error);
    if (messageOf(error).includes('no identity matched')) {
      throw new LifeboatError('IDENTITY_MISMATCH', `None of the given identities (${identities.length}) can decrypt this data: it was encrypted for other recipients.`, { cause: error });
    }
    throw decryptFailed(error);
  }
  try {
    yield* fromWebStream(plain);
  } catch (error) {
    throw source.failed(error) ? toLifeboatError(error) : decryptFailed(error);
  }
}

/** Identities from an age identity file: AGE-SECRET-KEY-1... lines, '#' comments, blank lines. */
export function parseIdentities(fileText: string): string[] {
  if (isAgeEncrypted(Buffer.from(fileText.slice(0, MAGIC.length)))) {
    throw new LifeboatError('IDENTITY_INVALID', 'The identity file is itself encrypted; decrypt it first (age -d) and give the plain identity file.');
  }
  const identities: string[] = [];
  fileText.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    // Never echo the line: it may be a secret with a typo.
    const invalid = new LifeboatError('IDENTITY_INVALID', `Line ${index + 1} of the identity file is not an age identity (AGE-SECRET-KEY-1...).`);
    if (!IDENTITY_LINE.test(line)) throw invalid;
    try {
      new Decrypter().addIdentity(line);
    } catch (error) {
      throw new LifeboatError(invalid.code, invalid.message, { cause: error });
    }
    identities.push(line);
  });
  if (identities.length === 0) throw new LifeboatError('IDENTITY_INVALID', 'The identity file holds no age identity (a line AGE-SECRET-KEY-1...).');
  return identities;
}

/**
 * Throws IDENTITY_MISMATCH unless one of the identities belongs to one of the
 * recipients: a restore checks this before it writes anything. Neither key is echoed.
 */
export async function requireMatchingIdentity(identities: readonly string[], recipients: readonly string[]): Promise<void> {
  const wanted = new Set(recipients);
  for (const identity of identities) {
    const recipient = await identityToRecipient(identity).catch(() => undefined);
    if (recipient !== undefined && wanted.has(recipient)) return;
  }
  throw new LifeboatError('IDENTITY_MISMATCH', `None of the given identities (${identities.length}) belongs to a recipient this snapshot is encrypted to (${recipients.join(', ')}).`);
}

/**
 * The one rule for an age recipient, wherever one arrives (settings, `init`, a
 * marker or manifest read back): an X25519 public key (age1...) that the age
 * library accepts, bech32 checksum included. Returns what is wrong with it, worded
 * to follow the value's name ("encryption.recipients.0 is ..."), or undefined.
 * A value that is not public-looking is never echoed: it could be a pasted secret.
 */
export function recipientProblem(recipient: string): string | undefined {
  if (/^AGE-SECRET-KEY-/i.test(recipient.trim())) {
    return 'is an age identity (a secret key), not a recipient: give its public key instead (age-keygen -y <identity file>)';
  }
  if (NOT_X25519.test(recipient)) {
    return 'is not an X25519 age recipient: only age1... keys from age-keygen are supported, not post-quantum or tag recipients';
  }
  try {
    if (!recipient.startsWith('age1')) throw new Error('no age1 prefix');
    new Encrypter().addRecipient(recipient);
    return undefined;
  } catch {
    return 'is not an age recipient (a mistyped character or a bad checksum): expected a public key like age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p (from age-keygen)';
  }
}

/** Throws RECIPIENT_INVALID unless `recipient` passes recipientProblem. */
export function validateRecipient(recipient: string): void {
  const problem = recipientProblem(recipient);
  if (problem === undefined) return;
  // Only a public-looking value is echoed; anything else could be a pasted secret.
  const shown = /^age1[0-9a-z]*$/.test(recipient) ? `Recipient "${recipient}"` : 'The recipient';
  throw new LifeboatError('RECIPIENT_INVALID', `${shown} ${problem}.`);
}

/** A new X25519 key pair: the identity (secret, AGE-SECRET-KEY-1...) and its recipient (age1...). */
export async function generateIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** Whether bytes start with the age v1 binary header. */
export function isAgeEncrypted(firstBytes: Uint8Array): boolean {
  return firstBytes.byteLength >= MAGIC.byteLength && MAGIC.equals(firstBytes.subarray(0, MAGIC.byteLength));
}

/** Remembers what the source itself threw, to tell it apart from the cipher's own errors. */
function tracked(source: ByteStream): { stream: ByteStream; failed(error: unknown): boolean } {
  let thrown: { error: unknown } | undefined;
  async function* stream(): ByteStream {
    try {
      yield* source;
    } catch (error) {
      thrown = { error };
      throw error;
    }
  }
  return { stream: stream(), failed: (error) => thrown !== undefined && thrown.error === error };
}

function decryptFailed(cause: unknown): LifeboatError {
  return new LifeboatError('DECRYPT_FAILED', `Cannot decrypt: the data is damaged, truncated or not age-encrypted (${messageOf(cause)}).`, { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
