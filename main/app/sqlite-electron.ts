// Stands in for `better-sqlite3` in the Electron bundles (build.mjs aliases it here). When the
// desktop app runs unpackaged (`npm start`), node_modules holds better-sqlite3 built for Node,
// whose ABI Electron cannot load; start.mjs builds one for Electron's ABI and names it in
// LONGREAD_SQLITE_BINDING. The packaged app's better-sqlite3 is rebuilt for Electron by
// electron-builder, so there the variable is unset and this is the plain module.
import Database from 'better-sqlite3';

const nativeBinding = process.env.LONGREAD_SQLITE_BINDING || undefined;

function LongreadDatabase(filename?: string | Buffer, options: Database.Options = {}): Database.Database {
  return new Database(filename, nativeBinding && !options.nativeBinding ? { ...options, nativeBinding } : options);
}
LongreadDatabase.prototype = Database.prototype;
Object.assign(LongreadDatabase, Database);

export default LongreadDatabase as unknown as typeof Database;
