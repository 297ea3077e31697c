// Counts the work a call does in Array methods, for tests of how work grows with input (never time): every
// callback call of an iterating method, every element an `indexOf`/`includes` looks at, every comparison of a
// sort. A quadratic loop built from these shows up as a quadratic count.
type Method = (this: unknown[], ...args: unknown[]) => unknown;

const ITERATING = [
  "some",
  "every",
  "find",
  "findIndex",
  "filter",
  "map",
  "forEach",
  "flatMap",
  "reduce",
] as const;
const SCANNING = ["indexOf", "includes", "lastIndexOf"] as const;

/** Runs `f` and returns how many units of Array work it did. Not reentrant. */
export function countArrayWork(f: () => void): number {
  const proto = Array.prototype as unknown as Record<string, Method>;
  const saved = new Map<string, Method>();
  let units = 0;
  for (const name of ITERATING) {
    const original = proto[name];
    saved.set(name, original);
    proto[name] = function (this: unknown[], callback: unknown, ...rest: unknown[]) {
      const counted =
        typeof callback === "function"
          ? (...args: unknown[]) => {
              units++;
              return (callback as (...a: unknown[]) => unknown)(...args);
            }
          : callback;
      return original.call(this, counted, ...rest);
    };
  }
  for (const name of SCANNING) {
    const original = proto[name];
    saved.set(name, original);
    proto[name] = function (this: unknown[], ...args: unknown[]) {
      units += this.length;
      return original.apply(this, args);
    };
  }
  const sort = proto.sort;
  saved.set("sort", sort);
  proto.sort = function (this: unknown[], compare?: unknown) {
    if (typeof compare !== "function") {
      units += this.length * Math.ceil(Math.log2(this.length + 1));
      return sort.call(this);
    }
    return sort.call(this, (a: unknown, b: unknown) => {
      units++;
      return (compare as (x: unknown, y: unknown) => number)(a, b);
    });
  };
  try {
    f();
  } finally {
    for (const [name, original] of saved) proto[name] = original;
  }
  return units;
}
