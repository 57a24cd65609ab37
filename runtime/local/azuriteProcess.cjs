// Azurite as the local fleet runs it (runtime/local/azurite.ts starts this file in a process group
// of its own, with Azurite's arguments). A terminal's Ctrl-C then reaches only the fleet, which
// stops Azurite with one signal and waits while it saves its data. Here a second signal can never
// kill it mid-save, and if the fleet process dies without stopping it, it stops (saving) by itself.
'use strict';

const fleetPid = process.ppid;
let stopping = false;
// Azurite's own once-handlers shut it down on the first of these; this one only outlives them.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopping = true;
  });
}
setInterval(() => {
  if (!stopping && process.ppid !== fleetPid) process.kill(process.pid, 'SIGTERM');
}, 1000).unref();

require('azurite/dist/src/azurite.js');
