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
  } else if (e instanceof LongreadError) {
    const json = process.argv.includes('--json');
    if (json) process.stdout.write(JSON.stringify({ error: e.toJSON() }) + '\n');
    else process.stderr.write(`longread: ${e.message}\n`);
    process.exitCode = e.code === 'cancelled' ? 130 : 1;
  } else {
    throw e;
  }
}
