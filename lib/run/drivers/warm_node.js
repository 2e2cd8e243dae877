(function isol8Warm() {
  // No top-level bindings: the user's code shares this global scope, as under node -e.
  const fs = require('fs'), vm = require('vm'), Module = require('module');
  // node -e gives its code dynamic import(); vm offers the same loader only behind a one-time
  // ExperimentalWarning: spend it now, silenced, so the user's code prints nothing -e would not.
  // The import fails at once ("" is no module): it sets the loader up without leaving work
  // that would run after the user's code (measured: 4 ms more at exit with a real import).
  const emit = process.emitWarning;
  process.emitWarning = () => {};
  try {
    vm.runInThisContext('import("").catch(() => {})', { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  } finally {
    process.emitWarning = emit;
  }
  // Compile what a first console.log runs (streams, formatting) into a throwaway sink: it costs
  // ~5 ms on first use (measured). process.stdout itself is left for the user's code to create.
  require('net');
  require('tty');
  const sink = new (require('stream').Writable)({ write(c, e, cb) { cb(); } });
  new (require('console').Console)(sink, sink).log('%s %d', 'x', 1, { a: [1, 'b'] }, new Error('warm'));
  fs.writeSync(4, 'R');
  const parts = [], b = Buffer.allocUnsafe(1 << 16);
  for (;;) {
    let n;
    try { n = fs.readSync(3, b, 0, b.length, null); } catch (e) { if (e.code === 'EAGAIN') continue; throw e; }
    if (n === 0) break;
    parts.push(Buffer.from(b.subarray(0, n)));
  }
  fs.closeSync(3);
  reportExit(4);
  // mode NUL code-or-path NUL KEY=VALUE NUL ...
  const f = Buffer.concat(parts).toString('utf8').split('\0');
  if (f.length < 2 || (f[0] !== 'c' && f[0] !== 'f')) process.exit(0);
  for (const k of Object.keys(process.env)) delete process.env[k];
  for (const kv of f.slice(2)) {
    const i = kv.indexOf('=');
    if (i > 0) process.env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const body = f[1];
  if (f[0] === 'c') {
    Object.defineProperty(process, '_eval', { value: body, writable: false, enumerable: true, configurable: true });
    process.execArgv[1] = body;
    vm.runInThisContext(body, { filename: '[eval]', displayErrors: true,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  } else {
    // node FILE has none of -e's globals
    for (const k of ['module', 'exports', 'require', '__filename', '__dirname']) delete globalThis[k];
    delete process._eval;
    process.execArgv.length = 0;
    process.argv[1] = body;
    Module.runMain(body);
  }
  // After the program: its exit code on fd 4 (close-on-exec, as node makes every inherited fd
  // above 2), once nothing it does can show any more: after every 'exit' listener, on a natural
  // end or process.exit(). The run then ends the sandbox without waiting for node's own teardown
  // (~6 ms, measured). Not on an uncaught error, which node reports after the 'exit' listeners;
  // not if the program replaced process.emit: then the init reports the exit, as cold.
  function reportExit(fd) {
    // the emit that process would have: looked up at each call, so a program that patches
    // EventEmitter.prototype.emit patches process's too, as under node -e
    const proto = Object.getPrototypeOf(process), base = Object.getPrototypeOf(proto);
    const onFatal = process._fatalException;
    let fatal = false, sent = false;
    if (typeof onFatal === 'function') {
      process._fatalException = { _fatalException(...a) {
        fatal = true;
        try { return Reflect.apply(onFatal, this, a); } finally { fatal = false; }
      } }._fatalException;
    }
    Object.defineProperty(proto, 'emit', { writable: true, configurable: true, enumerable: false,
      value: { emit(ev, ...a) {
        const r = Reflect.apply(base.emit, this, [ev, ...a]);
        if (ev === 'exit' && this === process && process._exiting && !fatal && !sent) {
          const c = process.exitCode, code = c === undefined || c === null ? 0 : Number(c);
          sent = true;
          if (Number.isInteger(code)) {
            try { fs.writeSync(fd, `E${code & 255}\n`); } catch {}
          }
        }
        return r;
      } }.emit });
  }
})();
