/** `ddns-watchdog demo`: not built yet. */
export async function runDemo(_options: { env: NodeJS.ProcessEnv }): Promise<number> {
  process.stderr.write('The demo is not available in this version yet.\n');
  return 2;
}
