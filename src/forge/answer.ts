// The resolver edge: every answer is a Result, errors keep their stable code and
// get a message for the person at the page. Bugs are logged with their stack
// (the Forge log is where a developer looks) and shown without internals.
import type { Result } from '../contract.js';
import { classifyError } from './platform-errors.js';

export async function answer<T>(work: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (thrown) {
    const error = classifyError(thrown);
    if (error.kind === 'bug') {
      console.error('lifeboat: resolver failed', thrown);
      return { ok: false, error: { code: error.code, message: 'Something went wrong inside Lifeboat; the app\'s log has the details.' } };
    }
    return { ok: false, error: { code: error.code, message: error.message } };
  }
}
