/**
 * PROFILING ONLY: the serving index's size for a zone file (typed arrays after a complete build,
 * both passes), per name and per record, and how many entries it holds. Compares index layouts
 * (issue 11: "memory per record no higher than today"); the server's RSS is run.ts's.
 * Usage: node --import tsx bench/dns/index-bytes.ts ZONEFILE
 */
import fs from 'node:fs';
import { ServingIndex } from '../../src/dns/serving-index.ts';
import { stateFromZoneFile } from './profile-server.ts';

const zoneFile = process.argv[2];
const records = fs.readFileSync(zoneFile, 'utf8').split('\n').filter((l) => /^\S+\s+\d+\s+IN\s/.test(l)).length;
const state = stateFromZoneFile(zoneFile);
const index = new ServingIndex({ rebuildSlice: 100_000 });
index.sync(state);
await index.whenBuilt();
while (index.filling) await new Promise((r) => setImmediate(r));
console.log(`entries ${index.size}, records ${records}, index ${(index.bytes / 1048576).toFixed(2)} MiB = ${(index.bytes / index.size).toFixed(1)} bytes/name = ${(index.bytes / records).toFixed(1)} bytes/record`);
