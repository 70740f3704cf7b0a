// The resolver edge: every answer is a Result; a failure keeps its stable code
// and gets the message and hint meant for the person at the page (hints.ts).
// Bugs are logged with their stack (the Forge log is where a developer looks).
import type { Result } from '../contract.js';
import { userError } from './hints.js';
import { classifyError } from './platform-errors.js';

export async function answer<T>(work: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (thrown) {
    const error = classifyError(thrown);
    if (error.kind === 'bug') console.error('lifeboat: resolver failed', thrown);
    return { ok: false, error: userError(error) };
  }
}
