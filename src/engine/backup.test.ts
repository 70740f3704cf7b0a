import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CHAIN_POLICY, chooseBase, newSnapshotId } from './backup.js';
import type { BundleEntry, EncryptionConfig, SnapshotManifest } from './bucket/format.js';

const ALICE = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const BOB = 'age1gakz7ch75zqxd9qwqm3px00sv2uq6j3rxcmhmk0p4y5y7ldqxcxq64esd2';
const CAROL = 'age1k4n33rzcct2ducuvlgrkrscr3gs0pfq5d50pndxm8qg2jqa4qdnszae3yf';
const oid = (digit: string): string => digit.repeat(40);

function bundle(createdBy: string, kind: 'full' | 'incremental', encrypted: boolean, size = 1000): BundleEntry {
  return {
    key: `ws/repo/objects/${createdBy.slice(-1).repeat(64)}`,
    sha256: createdBy.slice(-1).repeat(64),
    size,
    kind,
    prerequisites: kind === 'full' ? [] : [oid('1')],
    refs: [{ name: 'refs/heads/main', oid: oid(kind === 'full' ? '1' : '2') }],
    pack: { objectCount: 3, trailer: oid('f'), bytes: size - 100 },
    encrypted,
    createdBy,
  };
}

function snapshot(id: string, encryption: EncryptionConfig | null, bundles: BundleEntry[]): SnapshotManifest {
  return {
    format: 'lifeboat-snapshot',
    version: 1,
    id,
    repository: { workspace: 'ws', repository: 'repo' },
    source: 'https://git.example/repo.git',
    createdAt: '2026-11-26T06:15:00.000Z',
    trigger: 'cli',
    head: { symref: 'refs/heads/main' },
    refs: [{ name: 'refs/heads/main', oid: oid('2') }],
    bundles,
    encryption,
  };
}

const age = (...recipients: string[]): EncryptionConfig => ({ scheme: 'age', recipients });

describe('chooseBase: a snapshot is encrypted all or nothing', () => {
  const plain = snapshot('20261126T061500Z-00000b', null, [bundle('20261125T061500Z-00000a', 'full', false), bundle('20261126T061500Z-00000b', 'incremental', false, 10)]);
  const toAlice = snapshot('20261126T061500Z-00000d', age(ALICE, BOB), [bundle('20261125T061500Z-00000c', 'full', true), bundle('20261126T061500Z-00000d', 'incremental', true, 10)]);

  it('extends the chain when the encryption is the same (recipients compared as a set)', () => {
    assert.equal(chooseBase(plain, DEFAULT_CHAIN_POLICY, null), plain);
    assert.equal(chooseBase(toAlice, DEFAULT_CHAIN_POLICY, age(ALICE, BOB)), toAlice);
    assert.equal(chooseBase(toAlice, DEFAULT_CHAIN_POLICY, age(BOB, ALICE, BOB)), toAlice, 'order and repeats do not matter');
  });

  it('starts a new full chain when encryption is turned on, changed or turned off', () => {
    assert.equal(chooseBase(plain, DEFAULT_CHAIN_POLICY, age(ALICE)), undefined, 'plain → encrypted: no increment on a readable base');
    assert.equal(chooseBase(toAlice, DEFAULT_CHAIN_POLICY, age(ALICE)), undefined, 'a recipient removed');
    assert.equal(chooseBase(toAlice, DEFAULT_CHAIN_POLICY, age(ALICE, BOB, CAROL)), undefined, 'a recipient added');
    assert.equal(chooseBase(toAlice, DEFAULT_CHAIN_POLICY, null), undefined, 'encrypted → plain');
  });

  it('a snapshot of an empty repository, stored another way, is no base either', () => {
    const empty = snapshot('20261126T061500Z-00000e', null, []);
    assert.equal(chooseBase(empty, DEFAULT_CHAIN_POLICY, null), empty);
    assert.equal(chooseBase(empty, DEFAULT_CHAIN_POLICY, age(ALICE)), undefined);
  });

  it('still starts a new chain by the policy, and the first backup has no base', () => {
    assert.equal(chooseBase(plain, { maxIncrements: 1, maxIncrementRatio: 0.5 }, null), undefined);
    assert.equal(chooseBase(undefined, DEFAULT_CHAIN_POLICY, age(ALICE)), undefined);
  });
});

describe('newSnapshotId', () => {
  it('sorts after the newest snapshot, even one taken in the same second or on a clock ahead', () => {
    const at = new Date('2026-12-02T01:00:00.000Z');
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const newest = newSnapshotId(at);
      const next = newSnapshotId(at, newest);
      assert.ok(next > newest, `${next} sorts after ${newest}`);
      assert.ok(['20261202T010000Z', '20261202T010001Z'].includes(next.slice(0, 16)), 'at most a second later');
    }
    assert.ok(newSnapshotId(at, '20261202T020000Z-000000') > '20261202T020000Z-000000');
    assert.equal(newSnapshotId(at, '20261201T000000Z-ffffff').slice(0, 16), '20261202T010000Z', 'an older newest changes nothing');
  });
});
