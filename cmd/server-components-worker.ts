// The thread `tsk server` runs its controllers and scheduler on (see
// server-components.ts for why and for the messages).

import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../util/errors';
import { parseServerFlags } from './server-flags';
import { startComponents, type ComponentsData, type ComponentsMessage, type RunningComponents, type ServerMessage } from './server-components';

function post(m: ComponentsMessage): void {
  parentPort?.postMessage(m);
}

/** Printed by the server's thread, in order with its own lines and with `started`. */
function log(line: string): void {
  post({ type: 'log', line });
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('server-components-worker: not started as a worker thread');
  const data = workerData as ComponentsData;
  const abort = new AbortController();
  let running: RunningComponents | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    abort.abort();
    await running?.stop();
    post({ type: 'stopped' });
    port.close();
  };
  port.on('message', (m: ServerMessage) => {
    if (m.type === 'stop') void stop();
    else if (m.type === 'metrics') {
      const id = m.id;
      void (running?.metrics() ?? Promise.resolve('')).then(
        (text) => post({ type: 'metrics', id, text }),
        () => post({ type: 'metrics', id, text: '' }),
      );
    }
  });
  try {
    running = await startComponents(parseServerFlags(data.argv), data, abort.signal, log);
  } catch (err) {
    post({ type: 'failed', message: errorMessage(err) });
    port.close();
    return;
  }
  if (stopping) await running.stop();
  else post({ type: 'started', controllers: running.controllers.controllers.map((c) => c.name) });
}

void main();
