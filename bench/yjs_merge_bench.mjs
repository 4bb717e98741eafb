#!/usr/bin/env node
// The Node half of bench/run_yjs_bench: builds the workload (one ~200 KB snapshot plus 500
// keystroke updates typed on top of it, every 7th a backspace), writes it for the C++ half, and
// times Y.mergeUpdates on it.
//   node yjs_merge_bench.mjs OUT_DIR [ITERATIONS]
// Writes OUT_DIR/workload.bin (u32le count, then u32le length + bytes per update) and
// OUT_DIR/expected.bin (Y.mergeUpdates output); prints one JSON line with the timings.
import { createRequire } from 'node:module'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(join(here, '..', 'tests', 'js', 'package.json'))
const Y = require('yjs')

const out = process.argv[2]
const iterations = Number(process.argv[3] || 200)
mkdirSync(out, { recursive: true })

// Deterministic PRNG so every run measures the same bytes.
let seed = 12345
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
const words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor', 'café', 'naïve', '😀']

// The snapshot: a note written by two clients in ~100-character edits at random places, with some
// bold ranges and deletions, until its state update is about 200 KB.
const author = new Y.Doc(); author.clientID = 1001
const coauthor = new Y.Doc(); coauthor.clientID = 1002
const t1 = author.getText('t')
const t2 = coauthor.getText('t')
let turn = 0
while (Y.encodeStateAsUpdate(author).length < 200_000) {
  for (let k = 0; k < 50; k++) {
    const d = (turn++ % 3 === 2) ? coauthor : author
    const t = d === author ? t1 : t2
    let s = ''
    while (s.length < 100) s += words[Math.floor(rnd() * words.length)] + ' '
    t.insert(Math.floor(rnd() * (t.length + 1)), s, rnd() < 0.1 ? { bold: true } : undefined)
    if (rnd() < 0.2 && t.length > 20) t.delete(Math.floor(rnd() * (t.length - 10)), 5)
  }
  Y.applyUpdate(author, Y.encodeStateAsUpdate(coauthor, Y.encodeStateVector(author)))
  Y.applyUpdate(coauthor, Y.encodeStateAsUpdate(author, Y.encodeStateVector(coauthor)))
}
const snapshot = Y.encodeStateAsUpdate(author)

// 500 keystrokes by a third client that loaded the snapshot; every 7th is a backspace.
const typist = new Y.Doc(); typist.clientID = 2001
Y.applyUpdate(typist, snapshot)
const keystrokes = []
typist.on('update', u => keystrokes.push(u))
const tt = typist.getText('t')
let pos = Math.floor(tt.length / 2)
for (let i = 0; i < 500; i++) {
  if (i % 7 === 6) { tt.delete(pos - 1, 1); pos-- } else { tt.insert(pos, 'abcdefghij'[i % 10]); pos++ }
}
const updates = [snapshot, ...keystrokes]

const total = updates.reduce((n, u) => n + 4 + u.length, 4)
const buf = Buffer.alloc(total)
let off = buf.writeUInt32LE(updates.length, 0)
for (const u of updates) { off = buf.writeUInt32LE(u.length, off); buf.set(u, off); off += u.length }
writeFileSync(join(out, 'workload.bin'), buf)
const expected = Y.mergeUpdates(updates)
writeFileSync(join(out, 'expected.bin'), expected)

const time = (fn) => {
  for (let i = 0; i < 20; i++) fn()  // warm up the JIT
  const samples = []
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    fn()
    samples.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  samples.sort((a, b) => a - b)
  return { median_us: samples[samples.length >> 1], min_us: samples[0] }
}
const all = time(() => Y.mergeUpdates(updates))
const keysOnly = time(() => Y.mergeUpdates(keystrokes))
console.log(JSON.stringify({
  snapshot_bytes: snapshot.length,
  keystrokes: keystrokes.length,
  keystroke_bytes: keystrokes.reduce((n, u) => n + u.length, 0),
  merged_bytes: expected.length,
  node_merge_us: all.median_us,
  node_merge_min_us: all.min_us,
  node_keystrokes_only_us: keysOnly.median_us
}))
