// Rule 4: every container image is pinned.
import { containersOf, get, NOT_KNOWN, objectRef, type Props } from "./props";

/** True when an image reference names a digest, or an explicit tag other than `latest`. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  if (image.includes("@")) return false;
  const name = image.slice(image.lastIndexOf("/") + 1);
  const colon = name.lastIndexOf(":");
  if (colon < 0) return false;
  const tag = name.slice(colon + 1);
  return tag !== "" && tag.toLowerCase() !== "latest";
}

/** 4. Every container image is pinned. */
export function imageViolations(type: string, props: Props): string[] {
  const containers = containersOf(type, props, true);
  if (containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  for (const c of containers) {
    const image = get(c.value, "image");
    if (image === NOT_KNOWN) continue;
    if (typeof image !== "string" || image === "") out.push(`${ref}: ${c.label} has no image`);
    else if (!isPinnedImage(image)) {
      out.push(
        `${ref}: ${c.label} image ${image} is not pinned; use a digest (@sha256:...) or an explicit tag ` +
          "other than latest",
      );
    }
  }
  return out;
}
