// `tsk token create|list|delete`: manage join tokens through the API server
// (tsk.v1.Bootstrap), with the admin credential of the client config.

import { BootstrapService } from '../api/gen/tsk/v1/bootstrap';
import { Connection } from '../client';
import { resolveClient } from '../client';
import { TOKEN_HELP, UsageError, parseTokenCommand, type TokenCommand } from './token-flags';
import { formatTokenTable } from './token-table';
import { errorMessage } from '../util/errors';

/** The admin's connection to the API server: the client config's context (--kubeconfig, --context, --server). */
async function connectAdmin(cmd: Exclude<TokenCommand, { verb: 'help' }>): Promise<Connection> {
  const target = await resolveClient({ server: cmd.server, kubeconfig: cmd.kubeconfig, context: cmd.context });
  if (target.warning !== undefined) console.error(`tsk token: warning: ${target.warning}`);
  return new Connection(target.server, target.credentials);
}

async function run(cmd: Exclude<TokenCommand, { verb: 'help' }>, out: (s: string) => void): Promise<void> {
  const conn = await connectAdmin(cmd);
  try {
    switch (cmd.verb) {
      case 'create': {
        const t = await conn.unary(BootstrapService.createToken, { ttlSeconds: cmd.ttlSeconds, description: cmd.description });
        out(`${t.token ?? ''}\n`);
        return;
      }
      case 'list': {
        const list = await conn.unary(BootstrapService.listTokens, {});
        out(formatTokenTable(list.items ?? [], Date.now()));
        return;
      }
      case 'delete':
        for (const id of cmd.ids) {
          await conn.unary(BootstrapService.deleteToken, { id });
          out(`bootstrap token "${id}" deleted\n`);
        }
        return;
    }
  } finally {
    conn.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  let cmd: TokenCommand;
  try {
    cmd = parseTokenCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`tsk token: ${err.message}\nRun 'tsk token --help' for the commands.`);
    return 2;
  }
  if (cmd.verb === 'help' || cmd.help) {
    console.log(TOKEN_HELP);
    return 0;
  }
  try {
    await run(cmd, (s) => process.stdout.write(s));
    return 0;
  } catch (err) {
    console.error(`tsk token ${cmd.verb}: ${errorMessage(err)}`);
    return 1;
  }
}
