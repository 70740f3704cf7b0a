import { initBucket } from '../../engine/bucket/marker.js';
import { LifeboatError } from '../../engine/errors.js';
import { defineCommand } from '../command.js';
import { openBucketFromOptions, wholeNumber } from '../context.js';

export const initCommand = defineCommand({
  name: 'init',
  usage: 'lifeboat init [--recipient age1...]... [--object-lock-days N [--object-lock-mode GOVERNANCE|COMPLIANCE]]',
  summary: 'Start a Lifeboat backup in a bucket (writes lifeboat.json).',
  options: {
    recipient: { type: 'string', multiple: true },
    'object-lock-days': { type: 'string' },
    'object-lock-mode': { type: 'string' },
  },
  async run(args, output) {
    const { values } = args;
    const store = openBucketFromOptions(values);
    const days = wholeNumber(values['object-lock-days'], '--object-lock-days', 1);
    const mode = values['object-lock-mode'] ?? 'GOVERNANCE';
    if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') throw new LifeboatError('INVALID_ARGUMENT', '--object-lock-mode is GOVERNANCE or COMPLIANCE.');
    const marker = await initBucket(store, {
      recipients: values.recipient ?? [],
      ...(days ? { objectLock: { mode, days } } : {}),
    });
    output.result({ bucket: store.location, marker }, () =>
      [
        `Initialised ${store.location} (bucket format ${marker.version}).`,
        marker.encryption ? `Encryption: age, to ${marker.encryption.recipients.join(', ')}. Keep the identity file safe: restores need it.` : 'Encryption: none.',
        marker.objectLock ? `Object Lock: ${marker.objectLock.mode}, ${marker.objectLock.days} days on every object.` : 'Object Lock: none.',
      ].join('\n'));
    return 0;
  },
});
