import type { SQSEvent, SQSRecord } from 'aws-lambda';

let counter = 0;

/** An SQS record exactly as Lambda delivers it. */
export function sqsRecord(body: string, options: { messageId?: string; sentTimestamp?: number } = {}): SQSRecord {
  counter++;
  return {
    messageId: options.messageId ?? `msg-${counter}`,
    receiptHandle: `rh-${counter}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(options.sentTimestamp ?? Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:game-server-status-events-test',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
