import type { TestProject } from 'vitest/node';
import { startLocalServices } from '../../scripts/local/services';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sqsEndpoint: string;
  }
}

/** Starts DynamoDB Local and the local SQS server once for all integration tests. */
export default async function setup(project: TestProject) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const services = await startLocalServices();
  project.provide('dynamodbEndpoint', services.dynamodbEndpoint);
  project.provide('sqsEndpoint', services.sqsEndpoint);
  return async () => {
    await services.stop();
  };
}
