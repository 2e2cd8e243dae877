const load = typeof require === 'function' ? require : process.getBuiltinModule;
const fs = load('node:fs'), vm = load('node:vm'), mod = load('node:module');
globalThis.require = mod.createRequire('/sandbox/');
const rq = fs.openSync('/proc/self/fd/3', 'r'), rp = fs.openSync('/proc/self/fd/4', 'w');
class IsolExit { constructor(c) { this.code = c; } }
const realExit = process.exit.bind(process);
process.exit = (c) => { throw new IsolExit(c ?? process.exitCode ?? 0); };
const report = (e) => { if (!(e instanceof IsolExit)) console.error(e && e.stack ? e.stack : String(e)); };
process.on('uncaughtException', report);
process.on('unhandledRejection', report);
let pending = Buffer.alloc(0), n = 0;
function readLine() {
  for (;;) {
    const i = pending.indexOf(10);
    if (i >= 0) { const l = pending.subarray(0, i).toString('utf8'); pending = pending.subarray(i + 1); return l; }
    const b = Buffer.alloc(65536);
    let k;
    try { k = fs.readSync(rq, b, 0, b.length, null); } catch (e) { if (e.code === 'EAGAIN') continue; throw e; }
    if (k === 0) return null;
    pending = Buffer.concat([pending, b.subarray(0, k)]);
  }
}
// deno: import() in a block loads as the main module would (npm: specifiers from DENO_DIR); node
// has require, and would print an experimental-feature warning into the first exec's stderr
const dyn = typeof Deno !== 'undefined' && vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
  ? { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER } : {};
const flush = (s) => new Promise((r) => s.write('', () => r()));
(async () => {
  for (;;) {
    const line = readLine();
    if (line === null) realExit(0);
    const req = JSON.parse(line);
    n++;
    let rc = 0;
    Object.assign(process.env, req.env || {});
    try {
      const r = vm.runInThisContext(req.code, { filename: `<exec ${n}>`, ...dyn });
      if (r && typeof r.then === 'function') await r;
    } catch (e) {
      if (e instanceof IsolExit) rc = Number(e.code) & 255; else { report(e); rc = 1; }
    }
    await flush(process.stdout);
    await flush(process.stderr);
    fs.writeSync(rp, JSON.stringify({ exit: rc }) + '\n');
  }
})();
