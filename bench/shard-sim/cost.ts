import { WCU_PER_INDEX_WRITE, WCU_PER_ITEM_WRITE } from './capacity';
import type { SimParams } from './params';
import type { SimResult } from './simulate';

// Prices, us-east-1, on-demand (after the November 2024 reduction). Check current pricing.
export const PRICE = { wru: 0.625, rru: 0.125, lambdaRequest: 0.2, lambdaGbSecondArm: 0.0000133334, httpApi: 1.0 };
export const LAMBDA_GB = 0.5;

/** Cost per million claims (claim-gs count 1), on-demand. */
export function costPerMillion(sim: SimResult) {
  // claim: as simulated (successful writes, lost races, listings).
  const dynamo = sim.wruPerClaim * PRICE.wru + sim.rruPerClaim * PRICE.rru;
  const lambda = PRICE.lambdaRequest + (sim.latencyP50Ms / 1000) * LAMBDA_GB * PRICE.lambdaGbSecondArm * 1e6;
  const api = PRICE.httpApi;
  // confirm: GetItem (1 RRU) + TransactWriteItems (claim Update + server Update: 2 x 2 WRU) + 3 x 2
  // index writes + BatchGetItem of the server (1 RRU); release: GetItem (1) + UpdateItem server
  // (1 WRU) + 3 x 2 index writes + UpdateItem claim (1 WRU) + BatchGetItem (1). Plus a Lambda call and an API call each.
  const confirmDynamo = (2 * 2 * WCU_PER_ITEM_WRITE + 6 * WCU_PER_INDEX_WRITE) * PRICE.wru + 2 * PRICE.rru;
  const releaseDynamo = (2 * WCU_PER_ITEM_WRITE + 6 * WCU_PER_INDEX_WRITE) * PRICE.wru + 2 * PRICE.rru;
  const perCall = PRICE.lambdaRequest + 0.02 * LAMBDA_GB * PRICE.lambdaGbSecondArm * 1e6 + PRICE.httpApi;
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    wruPerClaim: sim.wruPerClaim,
    rruPerClaim: sim.rruPerClaim,
    claimOnly: { dynamodb: r(dynamo), lambda: r(lambda), httpApi: r(api), total: r(dynamo + lambda + api) },
    withConfirmAndRelease: { total: r(dynamo + lambda + api + confirmDynamo + releaseDynamo + 2 * perCall) },
  };
}

// The heartbeat pipeline, apart from claims: pod -> SQS -> status-poller -> DynamoDB, per 30 days.
const MONTH_S = 30 * 86_400;
const SQS_PER_MILLION = 0.4;
export function heartbeatMonth(p: SimParams, intervalS: number, inIndexFraction: number) {
  const events = p.servers / intervalS;
  const batches = events / 10;
  const sqs = (events + 2 * batches) * SQS_PER_MILLION; // a send per event; a receive and a delete per batch
  const lambda = batches * PRICE.lambdaRequest + batches * (2 * p.queryMs + 5) / 1000 * LAMBDA_GB * PRICE.lambdaGbSecondArm * 1e6;
  const reads = events * 1 * PRICE.rru; // consistent GetItem, <= 4 KB
  const writes = events * (WCU_PER_ITEM_WRITE + 3 * inIndexFraction * WCU_PER_INDEX_WRITE) * PRICE.wru;
  const month = (perSecondMillionths: number) => Math.round((perSecondMillionths * MONTH_S) / 1e6);
  return { intervalS, events, sqs: month(sqs), lambda: month(lambda), dynamodbReads: month(reads), dynamodbWrites: month(writes), total: month(sqs + lambda + reads + writes) };
}
