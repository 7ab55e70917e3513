// `npm run shard-sim [-- --servers 100000 --rate 5000 --json FILE]` (`-- --help` lists the options)
// Simulates the claim path at AWS scale (no DynamoDB involved): Lambda instances with their
// candidate caches, the availability index split into shards by the real shardOf() hash, GSI
// propagation lag, lost races, and the load every index partition takes. docs/SCALING.md quotes
// its output; run it again after changing the key design or the candidate strategy.
// The parts live in bench/shard-sim/: cli (arguments, run), simulate (the event-driven model,
// with heap, and positions: a shard in pool-position order), fleet (endpoints, shard spread),
// capacity (item size, capacity units), model (the production settings it models), load (index
// writes, poller), cost, report.
import '../scripts/local/env-defaults';
import { runShardSim } from './shard-sim/cli';

runShardSim(process.argv.slice(2));
