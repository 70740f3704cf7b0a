/** The accessibility check of every browser test: axe-core on the page as a person sees it. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Frame } from 'playwright-core';

const AXE = fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url));

/**
 * No serious or critical violation. Checked once every animation has ended:
 * a dialog fading in has, for a moment, text whose contrast axe rightly counts
 * against it, though no one ever reads it so.
 */
export async function checkAccessibility(frame: Frame, what: string): Promise<void> {
  await frame.evaluate('Promise.all(document.getAnimations().map((animation) => animation.finished.catch(() => undefined)))');
  await frame.evaluate(await readFile(AXE, 'utf8'));
  const violations = (await frame.evaluate('axe.run(document).then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) })))')) as Array<{ id: string; impact: string; help: string; nodes: string[] }>;
  const serious = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  assert.deepEqual(serious, [], `${what}: ${JSON.stringify(serious, null, 2)}`);
}
