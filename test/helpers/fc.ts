/**
 * fast-check as the tests use it. A property that fails late under load (CI runs two test files
 * at once on two cores) could spend the rest of its test's timeout shrinking the counterexample,
 * and be reported as a timeout with no counterexample at all (seen: the bucket property, timed out
 * at 120 s, shrinking an overflowing sum). Every property is interrupted after 40 s instead — below
 * the 60 s default test timeout; passing properties here take under 7 s in a CI run — and a
 * failure found by then is reported with its counterexample shrunk as far as it got.
 */
import fc from 'fast-check';

fc.configureGlobal({ interruptAfterTimeLimit: 40_000 });

export default fc;
