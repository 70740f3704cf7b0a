/**
 * One signing key for tests that call the engine's writers directly (the app and the
 * command line have their own), and the trust that believes only it.
 */
import { type Trust, generateSigningKey } from '../../src/engine/bucket/signing.js';

export const TEST_SIGNING_KEY = generateSigningKey().key;

export const TEST_TRUST: Trust = { keys: [TEST_SIGNING_KEY.fingerprint], unsigned: 'refuse' };

/** What backup() and attach() take to sign and to choose what to build on. */
export const TEST_SIGNER = { signingKey: TEST_SIGNING_KEY, trust: TEST_TRUST };
