/**
 * A synchronous, line-based message channel over two named pipes (FIFOs), used between the grading
 * process and the learner's jailed process. Synchronous, so that a test can call a learner's
 * function as a plain function (`assert.equal(add(1, 2), 3)`) and a learner's function can call
 * back a function the test passed it. Both sides open the pipe towards the learner first, so the
 * blocking opens pair up; when the other side's process ends, a read returns end-of-file.
 *
 * @example
 * ```ts
 * const ch = openChannel({ read: "io/to_grader", write: "io/to_learner" }, "grader");
 * ch.send({ op: "load", seq: 1, id: "01.1" });
 * const reply = ch.receive();
 * ```
 * @module
 */

/** The longest message accepted (bytes); a longer one is a protocol error. */
export const MAX_MESSAGE_BYTES = 64 << 20;

/** A message on the channel: one JSON object per line. */
export type Message = Record<string, unknown>;

/** One end of the channel. */
export interface Channel {
  send(msg: Message): void;
  /** The next message, or null at end-of-file (the other process ended). */
  receive(): Message | null;
  close(): void;
}

/** Paths of the two pipes, as seen by one side. */
export interface ChannelPaths {
  read: string;
  write: string;
}

const encoder = new TextEncoder();

function writeAll(file: Deno.FsFile, bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/**
 * Opens one side. `side` decides the open order (the grader opens its writing end first, the
 * learner its reading end first), which keeps the two blocking opens from deadlocking.
 */
export function openChannel(paths: ChannelPaths, side: "grader" | "learner"): Channel {
  let reader: Deno.FsFile;
  let writer: Deno.FsFile;
  if (side === "grader") {
    writer = Deno.openSync(paths.write, { write: true });
    reader = Deno.openSync(paths.read, { read: true });
  } else {
    reader = Deno.openSync(paths.read, { read: true });
    writer = Deno.openSync(paths.write, { write: true });
  }
  const decoder = new TextDecoder();
  const buf = new Uint8Array(1 << 16);
  let text = "";
  let searched = 0; // text before this index holds no newline
  let eof = false;
  const takeLine = (): string | null => {
    for (;;) {
      const nl = text.indexOf("\n", searched);
      if (nl >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        searched = 0;
        return line;
      }
      searched = text.length;
      if (eof) return null;
      if (text.length > MAX_MESSAGE_BYTES) {
        throw new RangeError(`message longer than ${MAX_MESSAGE_BYTES} bytes on the channel`);
      }
      const n = reader.readSync(buf);
      if (n === null || n === 0) eof = true;
      else text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  };
  return {
    send(msg) {
      writeAll(writer, encoder.encode(JSON.stringify(msg) + "\n"));
    },
    receive() {
      const line = takeLine();
      if (line === null) return null;
      const msg = JSON.parse(line);
      if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
        throw new TypeError("a message on the channel is not a JSON object");
      }
      return msg;
    },
    close() {
      for (const f of [reader, writer]) {
        try {
          f.close();
        } catch { /* already closed */ }
      }
    },
  };
}
