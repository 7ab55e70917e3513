/**
 * The tests' "now": the current second when the kit loads. Real time, not a fixed date,
 * because DynamoDB Local runs TTL deletion against the wall clock: records written with a
 * long-past clock would be garbage-collected under the test's feet.
 */
export const T0 = Math.floor(Date.now() / 1000) * 1000;
