/**
 * A notification as it is published: a CloudEvents 1.0 event in JSON structured mode
 * (schemas/events.ts holds the schema of each type). Only the attributes the transport needs are
 * named here.
 */
export interface PublishedEvent {
  specversion: '1.0';
  /** The same on every redelivery of the same change. */
  id: string;
  type: string;
  source: string;
  /** The server's (or load balancer's) endpoint: per subject, events are published in order. */
  subject: string;
  time: string;
  [attribute: string]: unknown;
}

/**
 * Where the notifier hands its events: the stage's EventBridge bus on AWS, the in-process stand-in
 * for it locally (scripts/local/webhook-bus.ts). `publish` resolves once every event is accepted
 * (durably, on AWS) and rejects if any was not; the caller then retries them all, in order.
 */
export interface EventPublisher {
  publish(events: readonly PublishedEvent[]): Promise<void>;
}
