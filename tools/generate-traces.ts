// Writes the shipped traces (traces/*.csv) from a seeded PRNG, so they can be regenerated exactly:
//   npx tsx tools/generate-traces.ts            (the two shipped ones)
//   npx tsx tools/generate-traces.ts --family   (also the family --family runs, into traces/family/)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAMILY, generate, toCsv, TRACES } from './sim/traces';

export { generate, toCsv, TRACES, type TraceSpec } from './sim/traces';

if (require.main === module) {
  const all: Array<[string, (typeof TRACES)[string]]> = Object.entries(TRACES);
  if (process.argv.includes('--family')) {
    mkdirSync(join(__dirname, '..', 'traces', 'family'), { recursive: true });
    all.push(...FAMILY.map((f): [string, (typeof TRACES)[string]] => [join('family', f.name), f.spec]));
  }
  for (const [name, spec] of all) {
    const sessions = generate(spec);
    const file = join(__dirname, '..', 'traces', `${name}.csv`);
    writeFileSync(file, toCsv(sessions));
    console.log(`${file}: ${sessions.length} sessions over ${spec.seconds / 3600} h`);
  }
}
