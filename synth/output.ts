// Synth's output folder: written whole into a fresh folder beside the target, then swapped into place. Synth
// replaces a folder only when it wrote it (its marker file is there) or when it is empty, so a mistaken
// `--out` (`--out .` with a stack named like a source folder) can never delete anything else.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** The file that marks a folder as synth's own output. */
export const MARKER_FILE = ".synth-output";
const MARKER_TEXT = "Written by `npm run synth`, which replaces this folder whole on its next run.\n";

/** A folder synth will not replace: it holds files synth did not write (exit code 2). */
export class OutputFolderError extends Error {
  override name = "OutputFolderError";
}

/** Throws unless `dir` is absent, empty, or synth's own output. */
export function assertReplaceable(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) {
    throw new OutputFolderError(`synth will not replace ${dir}: it is not a folder`);
  }
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes(MARKER_FILE)) {
    throw new OutputFolderError(
      `synth will not replace ${dir}: it holds files synth did not write (no ${MARKER_FILE}); ` +
        "give --out a folder of its own",
    );
  }
}

/** A fresh folder beside `target`, on the same file system, marked as synth's. */
export function freshFolder(target: string): string {
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const dir = path.join(parent, `.${path.basename(target)}.synth-${crypto.randomBytes(6).toString("hex")}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, MARKER_FILE), MARKER_TEXT);
  return dir;
}

/** Moves the finished `fresh` folder to `target`, removing the previous output only once it is checked. */
export function swapIntoPlace(fresh: string, target: string): void {
  assertReplaceable(target);
  if (!fs.existsSync(target)) {
    fs.renameSync(fresh, target);
    return;
  }
  const old = `${fresh}.old`;
  fs.renameSync(target, old);
  fs.renameSync(fresh, target);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Every file of an output folder (relative paths with `/`, sorted), the marker left out. */
export function outputFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name !== MARKER_FILE) found.push(child);
    }
  };
  walk("");
  return found.sort();
}
