import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from '../../scripts/local/lambda-context';
import { apiEvent, type ApiRequest } from '../../testkit/api-event';
import type { JsonResponse } from './http-client';

export type HttpLambda = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Calls a handler exactly as Lambda would behind API Gateway (HTTP API, payload 2.0): a full
 * event, a Lambda context, the structured result parsed back. In-process: no HTTP in between.
 */
export async function invokeHandler<T = any>(handler: HttpLambda, functionName: string, request: ApiRequest): Promise<JsonResponse<T>> {
  const result = await handler(apiEvent(request), lambdaContext(functionName, randomUUID()));
  return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
}
