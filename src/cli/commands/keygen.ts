import { LifeboatError } from '../../engine/errors.js';
import { defineCommand } from '../command.js';
import { writeKeyFile } from '../signing.js';

export const keygenCommand = defineCommand({
  name: 'keygen',
  usage: 'lifeboat keygen --out <file>',
  summary: 'Create an Ed25519 key that signs snapshots (backup, attach --signing-key <file>) and print its fingerprint, the one readers pin with --trust.',
  options: { out: { type: 'string', value: '<file>', help: 'the new key file (never overwritten)' } },
  examples: ['lifeboat keygen --out ~/lifeboat-signing.key'],
  async run(args, output) {
    const out = args.values.out;
    if (!out || args.positionals.length > 0) throw new LifeboatError('INVALID_ARGUMENT', `Give the new key's file: ${this.usage}`);
    const key = await writeKeyFile(out);
    output.result({ file: out, fingerprint: key.fingerprint, publicKey: key.publicKeyPem }, () => keyLines(out, key.fingerprint, true).join('\n'));
    return 0;
  },
});

/** What a person needs to know of a new key: where it is, and the fingerprint to keep apart from the bucket. */
export function keyLines(file: string, fingerprint: string, created: boolean): string[] {
  return [
    `${created ? 'Created the signing key' : 'Signing key:'} ${file}${created ? ', readable by you only' : ''}: it signs every snapshot written with --signing-key ${file}.`,
    `Fingerprint: ${fingerprint}`,
    'Keep the fingerprint outside the bucket (and outside Bitbucket): readers pin it with --trust <fingerprint> to tell your snapshots from planted ones.',
  ];
}
