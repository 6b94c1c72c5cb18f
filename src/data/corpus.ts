/**
 * The course corpus (Austen, KJV, Brown; see datasets/corpus/PROVENANCE.md) with its held-out
 * split by whole documents, read from the committed manifest datasets/corpus/split.json.
 *
 * @example
 * ```ts
 * import { loadCorpus } from "./corpus.ts";
 * const corpus = await loadCorpus();
 * corpus.train.length; // documents; corpus.heldOut are never trained on
 * ```
 * @module
 */
import { encode } from "./tokenizer.ts";

/** One document: its path relative to the corpus root and its bytes. */
export interface Document {
  id: string;
  collection: string;
  bytes: Uint8Array;
}

/** The corpus split into training and held-out documents. */
export interface Corpus {
  root: string;
  train: Document[];
  heldOut: Document[];
}

/** Shape of datasets/corpus/split.json. */
export interface SplitManifest {
  version: number;
  description?: string;
  heldOut: string[];
  exclude: string[];
}

/** The default corpus folder (datasets/corpus in this repository). */
export const DEFAULT_CORPUS_ROOT = new URL("../../datasets/corpus/", import.meta.url).pathname;

/** Reads the manifest and every document; held-out files that do not exist are an error. */
export async function loadCorpus(root: string = DEFAULT_CORPUS_ROOT): Promise<Corpus> {
  const base = root.endsWith("/") ? root : root + "/";
  const manifest = JSON.parse(await Deno.readTextFile(base + "split.json")) as SplitManifest;
  if (!Array.isArray(manifest.heldOut)) {
    throw new TypeError(`split.json must list heldOut documents; got ${typeof manifest.heldOut}`);
  }
  const held = new Set(manifest.heldOut);
  const excluded = new Set(manifest.exclude ?? []);
  const ids: string[] = [];
  for (const collection of ["austen", "kjv", "brown"]) {
    for await (const entry of Deno.readDir(base + collection)) {
      const id = `${collection}/${entry.name}`;
      if (entry.isFile && entry.name.endsWith(".txt") && !excluded.has(id)) ids.push(id);
    }
  }
  ids.sort();
  for (const id of held) {
    if (!ids.includes(id)) throw new RangeError(`held-out document ${id} is not in ${base}`);
  }
  const train: Document[] = [];
  const heldOut: Document[] = [];
  for (const id of ids) {
    const doc = {
      id,
      collection: id.split("/")[0],
      bytes: encode(await Deno.readTextFile(base + id)),
    };
    (held.has(id) ? heldOut : train).push(doc);
  }
  return { root: base, train, heldOut };
}

/** Total bytes in `docs`. */
export function totalBytes(docs: readonly Document[]): number {
  return docs.reduce((s, d) => s + d.bytes.length, 0);
}
