/**
 * The real parts a test file needs (a binary, a server). `requires` says
 * whether one is here: when it is missing the suite is skipped with a loud
 * `!!! SKIPPED` line, and under SLUICE_REQUIRE_ALL=1 (which .ci/run sets,
 * after installing them all) the file fails instead, so a run that skipped
 * the tests of a real part can never pass as green.
 */
export function requires(what: string, present: boolean, hint: string): boolean {
  if (present) return true;
  const msg = `${what} is missing: ${hint}`;
  if (process.env.SLUICE_REQUIRE_ALL === '1') throw new Error(`SLUICE_REQUIRE_ALL=1 and ${msg}`);
  console.warn(`\n!!! SKIPPED (${msg})\n`);
  return false;
}
