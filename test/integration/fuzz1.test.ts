// Fuzzing, shard 1 of 3 (the suite and why it is sharded: test/support/fuzzing.ts).
import { fuzzSuite } from '../support/fuzzing';

fuzzSuite({ shard: 0, shards: 3, paths: true });
