// Writes cases.json: packets encoded by socket.io-msgpack-parser (the
// Node parser, with notepack.io), with the JSON-and-attachments form the Go
// parser must decode them into. Run from the repository: node
// parser/testdata/msgpack/gen.mjs (make test does not: the output is
// committed, and TestMsgpackNode checks it against Node when node runs).
import { Encoder } from 'socket.io-msgpack-parser';
import { writeFileSync } from 'node:fs';

const enc = new Encoder();
const bin = (...b) => Buffer.from(b);
// Each case: the packet as Node builds it (key order type, data, id, nsp)
// and the JSON data the Go side holds, with placeholders.
const cases = [
  ['event', { type: 2, data: ['chat', 'hello', 1, -1, 1.5, true, null], nsp: '/' },
    '["chat","hello",1,-1,1.5,true,null]', []],
  ['event with id', { type: 2, data: ['q'], id: 7, nsp: '/admin' }, '["q"]', []],
  ['ack', { type: 3, data: [{ ok: true }], id: 12345, nsp: '/' }, '[{"ok":true}]', []],
  ['binary event', { type: 2, data: ['file', bin(1, 2, 3), { inner: bin(255) }], nsp: '/' },
    '["file",{"_placeholder":true,"num":0},{"inner":{"_placeholder":true,"num":1}}]', ['010203', 'ff']],
  ['connect', { type: 0, data: { sid: 'abc', pid: 'xyz' }, nsp: '/' }, '{"sid":"abc","pid":"xyz"}', []],
  ['connect no data', { type: 0, nsp: '/chat' }, null, []],
  ['disconnect', { type: 1, nsp: '/' }, null, []],
  ['connect error', { type: 4, data: { message: 'nope', data: { code: 3 } }, nsp: '/' },
    '{"message":"nope","data":{"code":3}}', []],
  ['numbers', { type: 2, data: ['n', 0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296,
    -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, 0.1, 2 ** 53, 2 ** 63], nsp: '/' },
    '["n",0,127,128,255,256,65535,65536,4294967295,4294967296,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,0.1,9007199254740992,9223372036854776000]', []],
  ['strings', { type: 2, data: ['s', '', 'é', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(300), 'a"b\\c\n', '😀'], nsp: '/' },
    JSON.stringify(['s', '', 'é', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(300), 'a"b\\c\n', '😀']), []],
  ['long array and map', { type: 2, data: ['big', Array.from({ length: 20 }, (_, i) => i),
    Object.fromEntries(Array.from({ length: 17 }, (_, i) => ['k' + i, i]))], nsp: '/' },
    JSON.stringify(['big', Array.from({ length: 20 }, (_, i) => i), Object.fromEntries(Array.from({ length: 17 }, (_, i) => ['k' + i, i]))]), []],
];
const out = cases.map(([name, packet, json, atts]) => ({
  name, hex: Buffer.from(enc.encode(packet)[0]).toString('hex'), type: packet.type, nsp: packet.nsp,
  id: packet.id ?? null, json, atts,
}));
writeFileSync(new URL('./cases.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
