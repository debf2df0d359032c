/**
 * A vitest reporter that prints, last, the plain line CI counts:
 *   vitest: N passed, N failed, N skipped
 * A test file that fails without a failed test (an import error, a failing beforeAll) counts as
 * one failure, and so does an unhandled error, so a broken file can never look like a smaller
 * green run.
 */
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const testModule of testModules) {
      let failedTests = 0;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedTests++;
        else skipped++;
      }
      failed += failedTests;
      // A file that failed with no failed test (an import error, a failing beforeAll/afterAll,
      // whose tests then show as skipped) still counts as one failure.
      if (failedTests === 0 && (testModule.state() === 'failed' || testModule.errors().length > 0)) failed++;
    }
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
