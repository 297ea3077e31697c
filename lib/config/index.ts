// Stack configuration: see schema.ts.
export * from "./schema";
