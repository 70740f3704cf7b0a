import { rm } from 'node:fs/promises';
import { initBucket, recordSigningKey } from '../../engine/bucket/marker.js';
import { LifeboatError } from '../../engine/errors.js';
import { defineCommand } from '../command.js';
import { openBucketFromOptions, wholeNumber } from '../context.js';
import { readKeyFile, signingKeyOptions, writeKeyFile } from '../signing.js';
import { keyLines } from './keygen.js';

export const initCommand = defineCommand({
  name: 'init',
  usage: 'lifeboat init --signing-key <file> [--recipient age1...]... [--object-lock-days N [--object-lock-mode GOVERNANCE|COMPLIANCE]]',
  summary: 'Start a Lifeboat backup in a bucket (writes lifeboat.json) and record the key that signs its snapshots (the file is created when it does not exist).',
  options: {
    ...signingKeyOptions,
    recipient: { type: 'string', multiple: true, value: 'age1...', help: 'encrypt every snapshot to this age recipient (repeatable); none: snapshots are not encrypted' },
    'object-lock-days': { type: 'string', value: 'N', help: 'keep every object under S3 Object Lock for N days (the bucket must have Object Lock enabled)' },
    'object-lock-mode': { type: 'string', value: 'GOVERNANCE|COMPLIANCE', help: 'the Object Lock mode (GOVERNANCE unless given)' },
  },
  examples: ['lifeboat init --bucket s3://acme-backups/lifeboat --signing-key ~/lifeboat-signing.key --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'],
  async run(args, output) {
    const { values } = args;
    const store = openBucketFromOptions(values);
    const days = wholeNumber(values['object-lock-days'], '--object-lock-days', 1);
    const mode = values['object-lock-mode'] ?? 'GOVERNANCE';
    if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') throw new LifeboatError('INVALID_ARGUMENT', '--object-lock-mode is GOVERNANCE or COMPLIANCE.');
    // Every snapshot is signed: the bucket starts with the key that will sign them, which readers then know by its fingerprint.
    const keyFile = values['signing-key'];
    if (!keyFile) throw new LifeboatError('INVALID_ARGUMENT', 'init records the key that signs the bucket\'s snapshots: give --signing-key <file> (created when it does not exist) or set LIFEBOAT_SIGNING_KEY.');
    const existing = await readKeyFile(keyFile);
    // The key file first, so that a bucket is never started without its key; removed again when the bucket refuses (in use already).
    const key = existing ?? (await writeKeyFile(keyFile));
    try {
      await initBucket(store, {
        recipients: values.recipient ?? [],
        ...(days ? { objectLock: { mode, days } } : {}),
      });
    } catch (error) {
      if (!existing) await rm(keyFile, { force: true });
      throw error;
    }
    const marker = await recordSigningKey(store, key);
    output.result({ bucket: store.location, marker, signingKey: { file: keyFile, fingerprint: key.fingerprint, created: !existing } }, () =>
      [
        `Initialised ${store.location} (bucket format ${marker.version}).`,
        marker.encryption ? `Encryption: age, to ${marker.encryption.recipients.join(', ')}. Keep the identity file safe: restores need it.` : 'Encryption: none.',
        marker.objectLock ? `Object Lock: ${marker.objectLock.mode}, ${marker.objectLock.days} days on every object.` : 'Object Lock: none.',
        ...keyLines(keyFile, key.fingerprint, !existing),
      ].join('\n'));
    return 0;
  },
});
