// Polling for a condition that another process or an informer makes true
// eventually: the one wait loop of the integration tests.

/** Polls check() every 50 ms until it is true; throws "timed out waiting for WHAT" after timeoutMs. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
