// The one canonical JSON: its rule, and golden values of everything hashed through it (run ids,
// setup and prediction hashes of the committed experiments, their locks, a cache checksum, a
// stage key, formerly the teacher cache's), pinned from before the four versions it replaced were
// merged. If one of these changes, committed results no longer match their ids or locks.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError } from '../../src/util/canonical-json.ts';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { predictionHash, setupHash } from '../../src/prereg/normalise.ts';
import { entryHashOf, readLock, type LockEntry } from '../../src/prereg/lock.ts';
import { entryChecksum, type CacheEntryInput } from '../../src/exec/cache.ts';
import { stageKeyOf } from '../../src/exec/stages.ts';

const root = path.join(import.meta.dirname, '..', '..');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('canonical JSON: the rule', () => {
  it('sorts keys at every level and writes numbers in their shortest form', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(canonicalJson({ b: -0, a: [1e-7, 'é\u2028', 1e21], c: { z: true, y: null } })).toBe('{"a":[1e-7,"é\u2028",1e+21],"b":0,"c":{"y":null,"z":true}}');
  });

  it('leaves out undefined properties (absent and undefined hash the same)', () => {
    expect(canonicalJson({ a: 1, git: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('refuses NaN, ±Infinity and lone surrogates, saying where', () => {
    expect(() => canonicalJson({ params: { x: Infinity } })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ params: { x: Infinity } })).toThrow(/Infinity.*at params\.x/);
    expect(() => canonicalJson({ rows: [1, NaN] })).toThrow(/NaN.*at rows\[1\]/);
    expect(() => canonicalJson({ s: 'a\ud800' })).toThrow(/surrogate.*at s/);
    expect(canonicalJson({ s: '\ud83e\udd89' })).toBe('{"s":"\ud83e\udd89"}');
    expect(() => canonicalJson(undefined)).toThrow(CanonicalJsonError);
  });
});

// [file, experiment's run count, sha256 of its run ids joined by commas, first two ids, setup hash]
const committed: [string, number, string, string[], string][] = [
  ['topic-a/baseline.exp', 25, '406472ed91ed17e753cd5d5c0747a91943905a7c68efb102f0dcf1ea5a55570a', ['9e7856e1ea1e944d', '64374005a052fa3a'], '4bf4580d9c3dad758d7fd7e10b64914902544d057406d240373084ec4c0680b0'],
  ['topic-a/weight-decay.exp', 50, '154caafc69c58d4da47c3b99d682d979fc5cf30cabdf56b31f557f00932d6a55', ['9e7856e1ea1e944d', '64374005a052fa3a'], 'e723c025c957c9046cee0f949e980825898f40b5f744a047a8e731a2ef3e1caf'],
  ['superposition/ablated-top-feature.exp', 50, 'b7b2070d5f0f04edf8a04711d8c1fa9dca8ed6e4b521d26b10070975f28ae1be', ['5dd850873969bd37', '5b580672947f6c57'], '0f6068f76d694e9f7f247d14b0fd78b892e6099edf8ee8f2fb3aba5827c9ff40'],
  ['superposition/ablated.exp', 50, '54f7caf887f1ccd87202171ae4f365549ffe14ee7027e68aae3b1ee009b03eb7', ['48d290a8db1c9de3', '8a519df202b6b818'], 'd3c147e5931b7a34ca4c46eae95d6d056558b822384d73fcdca6dfbea22ef177'],
  ['superposition/auxiliary.exp', 50, 'f0a0c235391fc83947f7834ec02c2dfb314d8a2d9dd07d484ad03b9bee3c20ce', ['f01b2cac995f54ee', 'f1faa414988808fa'], 'b7b4b5323394f6e360e5006f3e533398b018df8b3344a551ff2d4f2808bf748b'],
  ['superposition/shared-init.exp', 20, 'c7512d11573d4a2dfc2c8e237ca4d22c920c7195e77782d744db8ae08346fa5b', ['d59ce9b2a57d87a7', '60e010f912b322d5'], '4539fbdb9813f3578d51d08d88e58d0f35be4f5d4bfeb3784f2c191dc5fb7474'],
  ['topic-b/owl.exp', 5, '2010d9c7f3bf196a8d0c43f9ae2349775f0b68f0a6ec9ef5b51b7ba3b4c239f9', ['ecd8e4dbf551f667', '45091b86d1248fbe'], 'f69f8069c1fd84c9be58635de812d91e262e9370737ac31fc370729e6d143ba7'],
];

describe('canonical JSON: golden hashes of the committed experiments', () => {
  it.each(committed)('%s: run ids and setup hash as pinned, every prediction found in its lock', (file, runs, idsSha, first, setup) => {
    const c = compileFile(path.join(root, 'experiments', file));
    expect(c.experiments.length).toBe(1);
    const e = c.experiments[0]!;
    const ids = planExperiment(e).runs.map((r) => r.id);
    expect(ids.length).toBe(runs);
    expect(ids.slice(0, 2)).toEqual(first);
    expect(sha(ids.join(','))).toBe(idsSha);
    expect(setupHash(e)).toBe(setup);
    const lock = readLock(path.join(root, 'experiments', path.dirname(file), 'sublab.lock'), { git: false });
    expect(lock.problems).toEqual([]);
    const registered = new Set(lock.entries.map((l) => `${l.hash}:${l.setupHash}`));
    for (const p of e.predictions) expect(registered.has(`${predictionHash(p)}:${setup}`), p.text).toBe(true);
  });

  it('the locks of the three topics verify and still hold their pinned entry (registrations may follow it)', () => {
    const last: Record<string, string> = {
      'topic-a': '311bd8ba6eba5ff393c564dab5193f8b9428e8ce4d4a52b320997b0f3c02eefe',
      superposition: 'da1e41b4a2e774b4bf1bcd0e775d125afc80b2500a312d6be901f28ac734fe10',
      'topic-b': '0d44c1a733cdaded9ba72a5e90798b21faad21832c845b419ec7b2442460ddf2',
    };
    for (const [topic, hash] of Object.entries(last)) {
      const lock = readLock(path.join(root, 'experiments', topic, 'sublab.lock'), { git: false });
      expect(lock.problems, topic).toEqual([]);
      expect(lock.entries.map((e) => e.entryHash), topic).toContain(hash);
    }
  });

  it('a cache checksum (NaN metric, absent git), a lock entry hash and a stage key (formerly a teacher key) as pinned', () => {
    const entry: CacheEntryInput = {
      id: 'abc', runner: 'superposition', params: { a: 1, b: 'x' }, seed: 3,
      output: { rows: [{ metrics: { m: NaN, n: 0.5, p: Infinity }, nonFinite: { m: 'NaN', p: 'Infinity' } }], backend: 'cpu' },
      wallMs: 12.5, finishedAt: '2026-01-01T00:00:00.000Z', git: undefined, first: undefined,
    };
    (entry.params as Record<string, unknown>).c = [1, 2];
    expect(entryChecksum(entry)).toBe('30e82faf1eb39282523e44536854db6262116c661c767994982e327191800739');
    expect(entryChecksum({ ...entry, git: { commit: 'deadbeef', dirty: false }, first: { finishedAt: 'x', git: { commit: null, dirty: null } } }))
      .toBe('4b0d005f5cf0db7842adab217acb17d6cc86fa26f843eb9c0334abef1447254a');
    const le = { v: 1, kind: 'register', file: 'a.exp', experiment: 'e', prediction: 'predict x > 0', because: undefined, hash: 'h', setupHash: 's', time: 't', git: { commit: null, dirty: null }, prev: '0'.repeat(64) } as const;
    expect(entryHashOf(le as Omit<LockEntry, 'entryHash'>)).toBe('03a1d2d4f949cc753050efccc5c3828eafdfb581995ef14293486378db4ae244');
    expect(stageKeyOf({ format: 3, tag: 'mlp_distill@3/onnx', dataset: 'mnist', data_dir: '', lr: 0.001, weight_decay: 0, seed: 7, hidden: 256 }))
      .toBe('52d0fbc9a274c0f5e2bd0561df41f6b58bda958ed667f01a6f6b84c29c10ac5c');
  });
});
