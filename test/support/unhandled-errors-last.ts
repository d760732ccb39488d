/**
 * Repeats each unhandled error in one line after the summary. CI shows only the tail of a run's output,
 * where the default reporter's summary says "1 error" while its account of the error has scrolled away
 * (session 13 in docs/testing.md).
 */
import type { Reporter, SerializedError } from 'vitest/node';

function where(error: SerializedError): string {
  const frame = error.stacks?.[0];
  const at = frame ? ` at ${frame.file}:${frame.line}:${frame.column}` : '';
  const test = typeof error.VITEST_TEST_NAME === 'string' ? ` in "${error.VITEST_TEST_NAME}"` : '';
  const file = typeof error.VITEST_TEST_PATH === 'string' ? ` while ${error.VITEST_TEST_PATH} ran` : '';
  return at + test + file;
}

export default class UnhandledErrorsLast implements Reporter {
  async onTestRunEnd(_modules: unknown, errors: ReadonlyArray<SerializedError>): Promise<void> {
    // Vitest calls every reporter's onTestRunEnd, then the default reporter's summary, in one turn.
    await new Promise((resolve) => setImmediate(resolve));
    for (const error of errors) {
      const kind = typeof error.type === 'string' ? `${error.type}: ` : '';
      console.log(`unhandled error: ${kind}${error.name ?? 'Error'}: ${String(error.message).split('\n')[0]}${where(error)}`);
    }
  }
}
