/**
 * Request and reply over a {@link Channel}, shared by the grading process and the learner's
 * process. While one side waits for its reply it serves the other side's requests (a learner's
 * function calling back a function the test passed it, and that one calling the learner again).
 *
 * @example
 * ```ts
 * const peer = makePeer(channel, (req) => ({ ok: false, error: `unexpected ${req.op}` }));
 * const reply = peer.request({ op: "load", id: "01.1" });
 * ```
 * @module
 */
import type { Channel, Message } from "./channel.ts";

/** Thrown when the other process ended (its end of the channel closed). */
export class PeerLostError extends Error {
  constructor() {
    super("the learner's process ended");
    this.name = "PeerLostError";
  }
}

/** One side of the conversation. */
export interface Peer {
  /** Sends a request and returns its reply, serving requests that arrive meanwhile. */
  request(msg: Message): Message;
  /** Serves incoming requests until the channel closes (the learner's main loop). */
  serveForever(handle: (msg: Message) => Message | Promise<Message>): Promise<void>;
}

/** Wraps a channel; `serve` answers requests that arrive while this side waits for a reply. */
export function makePeer(channel: Channel, serve: (msg: Message) => Message): Peer {
  let next = 0;
  const answer = (req: Message, reply: Message) => channel.send({ ...reply, reply: req.seq });
  return {
    request(msg) {
      const seq = ++next;
      channel.send({ ...msg, seq });
      for (;;) {
        const m = channel.receive();
        if (m === null) throw new PeerLostError();
        if (m.reply === seq) return m;
        if (m.reply !== undefined) {
          throw new TypeError(`protocol error: a reply to ${String(m.reply)} while waiting ${seq}`);
        }
        answer(m, serve(m));
      }
    },
    async serveForever(handle) {
      for (;;) {
        const m = channel.receive();
        if (m === null) return;
        if (m.reply !== undefined) continue; // a reply nobody waits for
        answer(m, await handle(m));
      }
    },
  };
}

/** `name: message` of a thrown value, cut to `max` characters; never throws. */
export function errorText(e: unknown, max = 2000): string {
  try {
    if (e instanceof Error) return `${String(e.name)}: ${String(e.message)}`.slice(0, max);
    return `thrown: ${String(e)}`.slice(0, max);
  } catch {
    return "thrown: (a value that cannot be shown)";
  }
}
