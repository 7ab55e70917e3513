/**
 * Dummy credentials for local AWS-compatible services (DynamoDB Local, the local SQS server, an
 * SSM-compatible test endpoint), which check none. DynamoDB Local accepts only letters and digits here.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
