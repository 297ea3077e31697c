// A test that cannot run here says why in mocha's report: the reason joins its title, then it is skipped.
export function skipBecause(ctx: Mocha.Context, why: string): never {
  if (ctx.test !== undefined) ctx.test.title += ` (pending: ${why})`;
  ctx.skip();
}
