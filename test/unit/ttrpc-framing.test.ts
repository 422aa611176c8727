import assert = require('node:assert/strict');
import { describe, it } from 'node:test';

import { encodeFrame, FrameReader, HEADER_LENGTH, MESSAGE_LENGTH_MAX, type Frame, type FrameHeader } from '../../shim/ttrpc/frame';

function collect(): { frames: Frame[]; oversized: FrameHeader[]; reader: FrameReader } {
  const frames: Frame[] = [];
  const oversized: FrameHeader[] = [];
  const reader = new FrameReader({ frame: (f) => frames.push(f), oversized: (h) => oversized.push(h) });
  return { frames, oversized, reader };
}

describe('ttrpc framing', () => {
  it('writes the 10-byte header big-endian: length, stream id, type, flags', () => {
    const frame = encodeFrame(0x01020304, 0x02, 0x00, Buffer.from('hello'));
    assert.deepEqual([...frame], [0, 0, 0, 5, 1, 2, 3, 4, 2, 0, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);
  });

  it('reads a frame whatever the chunks are split', () => {
    const stream = Buffer.concat([
      encodeFrame(1, 1, 0, Buffer.from('first')),
      encodeFrame(3, 1, 0, Buffer.alloc(0)),
      encodeFrame(5, 2, 0, Buffer.from('third frame')),
    ]);
    for (let size = 1; size <= stream.length; size++) {
      const { frames, reader } = collect();
      for (let off = 0; off < stream.length; off += size) reader.push(stream.subarray(off, off + size));
      assert.deepEqual(
        frames.map((f) => [f.streamId, f.type, f.data.toString()]),
        [
          [1, 1, 'first'],
          [3, 1, ''],
          [5, 2, 'third frame'],
        ],
        `chunk size ${size}`,
      );
      assert.equal(reader.partial, false);
    }
  });

  it('reports a frame cut short as partial, and completes it with the rest', () => {
    const { frames, reader } = collect();
    const frame = encodeFrame(7, 1, 0, Buffer.from('abcdef'));
    reader.push(frame.subarray(0, HEADER_LENGTH + 2));
    assert.equal(frames.length, 0);
    assert.equal(reader.partial, true);
    reader.push(frame.subarray(HEADER_LENGTH + 2));
    assert.equal(frames[0].data.toString(), 'abcdef');
  });

  it('accepts data of exactly 4 MiB', () => {
    const { frames, oversized, reader } = collect();
    reader.push(encodeFrame(1, 1, 0, Buffer.alloc(MESSAGE_LENGTH_MAX, 7)));
    assert.equal(oversized.length, 0);
    assert.equal(frames[0].data.length, MESSAGE_LENGTH_MAX);
  });

  it('skips the data of an oversized frame and carries on with the next frame', () => {
    const { frames, oversized, reader } = collect();
    const big = encodeFrame(9, 1, 0, Buffer.alloc(MESSAGE_LENGTH_MAX + 1, 1));
    const next = encodeFrame(11, 1, 0, Buffer.from('after'));
    const stream = Buffer.concat([big, next]);
    for (let off = 0; off < stream.length; off += 65536) reader.push(stream.subarray(off, off + 65536));
    assert.deepEqual(oversized, [{ length: MESSAGE_LENGTH_MAX + 1, streamId: 9, type: 1, flags: 0 }]);
    assert.deepEqual(
      frames.map((f) => [f.streamId, f.data.toString()]),
      [[11, 'after']],
    );
  });

  it('reports an oversized frame only once all of its data has gone by', () => {
    const { oversized, reader } = collect();
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt32BE(MESSAGE_LENGTH_MAX + 10, 0);
    header.writeUInt32BE(1, 4);
    header[8] = 1;
    reader.push(header);
    reader.push(Buffer.alloc(MESSAGE_LENGTH_MAX));
    assert.equal(oversized.length, 0);
    reader.push(Buffer.alloc(10));
    assert.equal(oversized.length, 1);
  });
});
