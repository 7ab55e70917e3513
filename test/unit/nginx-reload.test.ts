import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeSignalFailure, parseNginxPid } from '../../clients/lib/nginx-reload';

describe('parseNginxPid', () => {
  it('reads the process id nginx writes (digits and a newline), any above 1', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 4_194_304 }), fc.constantFrom('', '\n', '\r\n', ' \n'), (pid, end) => parseNginxPid(`${pid}${end}`) === pid));
  });

  it('refuses 0 (our own process group), 1 (the pause process), negatives and anything not one number', () => {
    for (const text of ['', '\n', '0\n', '1\n', '-1\n', '-12\n', '12 13\n', '12abc', '0x1f', '1e3', '12.5', 'nginx', '99999999999']) {
      expect(parseNginxPid(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});

describe('describeSignalFailure', () => {
  it('tells a dead nginx from one it may not signal, and passes anything else on', () => {
    expect(describeSignalFailure(42, 'ESRCH')).toEqual({ failure: 'not-running', reason: 'no process 42: nginx is not running (stale pid file)' });
    expect(describeSignalFailure(42, 'EPERM')).toEqual({
      failure: 'not-permitted',
      reason: "not permitted to signal process 42: nginx must run as this container's user (runAsUser) in the pod's shared process namespace",
    });
    expect(describeSignalFailure(42, 'EINVAL', 'kill EINVAL')).toEqual({ failure: 'signal-failed', reason: 'SIGHUP to process 42 failed: kill EINVAL' });
    expect(describeSignalFailure(42, undefined)).toEqual({ failure: 'signal-failed', reason: 'SIGHUP to process 42 failed: unknown error' });
  });
});
