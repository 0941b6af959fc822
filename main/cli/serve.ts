import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { intOption } from './options';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the app in your browser: a local server on 127.0.0.1 with the interface and its API.')
    .option('--port <n>', 'port to listen on (0: any free port)', intOption(0), 0)
    .option('--open', 'open the address in the default browser')
    .option('--renderer <dir>', 'the built interface to serve (default: renderer/dist)')
    .action(async (flags: { port: number; open?: boolean; renderer?: string }) => {
      if (flags.port > 65535) throw new (await import('../../common/errors')).LongreadError('invalid-port', `--port ${flags.port} is not a port (0–65535).`);
      const { startServer } = await import('../server/server');
      const server = await startServer({ port: flags.port, rendererDir: flags.renderer });
      const info = server.api.info();
      process.stdout.write(`Longread is running at\n\n    ${server.url}\n\nData: ${info.dataHome}. Only this address (it carries this launch's token) can use it. Ctrl+C stops it.\n`);
      if (info.notice) process.stderr.write(`longread: ${info.notice}\n`);
      if (flags.open) openInBrowser(server.url);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}

/** Best effort: a missing opener (a server without a desktop) only means the user opens the printed address. */
function openInBrowser(url: string): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`longread: could not open a browser; open the address above yourself.\n`));
    child.unref();
  } catch {
    process.stderr.write(`longread: could not open a browser; open the address above yourself.\n`);
  }
}
