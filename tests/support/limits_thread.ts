/**
 * A capped thread that posts, as its exit code, the old-generation limit in MB it was made
 * with (0 when none was set): tests/capped_heap_test.ts checks which commands get one.
 *
 * @module
 */

import { parentPort, resourceLimits } from "node:worker_threads";

parentPort!.postMessage(resourceLimits.maxOldGenerationSizeMb ?? 0);
