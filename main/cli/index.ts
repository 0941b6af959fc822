import { Command, CommanderError } from 'commander';
import { LongreadError } from '../../common/errors';
import { registerAssistant } from './assistant';
import { registerGenerate } from './generate';
import { registerLibrary } from './library';
import { registerServe } from './serve';

const program = new Command();
program
  .name('longread')
  .description('Longread: ask questions about whole books and long PDFs, offline.')
  .showHelpAfterError()
  .exitOverride(); // usage errors end below with exit code 2 (commander has printed them)
registerAssistant(program);
registerGenerate(program);
registerLibrary(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    // anything unexpected is still reported in the typed form (--json callers parse stdout)
    const error = e instanceof LongreadError ? e : new LongreadError('internal', `Something went wrong inside Longread: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    const json = process.argv.includes('--json');
    if (json) process.stdout.write(JSON.stringify({ error: error.toJSON() }) + '\n');
    else process.stderr.write(`longread: ${error.message}\n`);
    process.exitCode = error.code === 'cancelled' ? 130 : 1;
  }
}
