import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { metricsLogger } from '../../lib/deps';

function recordingLogger() {
  const lines: Array<[string, string]> = [];
  const at = (level: string) => (message: string) => void lines.push([level, message]);
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('metricsLogger', () => {
  it('logs the notice of an invocation without metrics at debug, not as a warning', () => {
    const { lines, logger } = recordingLogger();
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test', logger: metricsLogger(logger) });
    metrics.publishStoredMetrics();
    expect(lines.map(([level]) => level)).toEqual(['debug']);
    expect(lines[0]![1]).toMatch(/^No application metrics to publish/);
  });

  it('keeps the warning about a dimension CloudWatch would refuse', () => {
    const { lines, logger } = recordingLogger();
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test', logger: metricsLogger(logger) });
    metrics.addDimension('region', '');
    expect(lines).toEqual([['warn', "The dimension region doesn't meet the requirements and won't be added. Ensure the dimension name and value are non empty strings"]]);
  });
});
