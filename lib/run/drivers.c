/* drivers.c — the in-sandbox "kernels" of persistent sessions: one long-lived interpreter per
 * session that runs each submitted block in the same state. Requests arrive on fd 3, one reply
 * {"exit":N} per block goes to fd 4 after stdout/stderr are flushed. `exit`/SystemExit/
 * process.exit end the block with that code, not the session.
 * These run as the sandbox user under the same seccomp policy as any payload: they are
 * conveniences, not a security boundary. */
#include "run/drivers.h"

#include <string.h>

static const char python_driver[] =
	"import io, json, linecache, os, sys, traceback\n"
	"_rq = os.fdopen(3, 'rb')\n"
	"_rp = os.fdopen(4, 'wb', buffering=0)\n"
	"_g = {'__name__': '__main__', '__builtins__': __builtins__}\n"
	"_n = 0\n"
	"for _line in _rq:\n"
	"    _req = json.loads(_line)\n"
	"    _n += 1\n"
	"    _name = '<exec %d>' % _n\n"
	"    _code = _req['code']\n"
	"    linecache.cache[_name] = (len(_code), None, _code.splitlines(True), _name)\n"
	"    os.environ.update(_req.get('env') or {})\n"
	"    sys.stdin = io.StringIO(_req.get('stdin') or '')\n"
	"    _rc = 0\n"
	"    try:\n"
	"        exec(compile(_code, _name, 'exec'), _g)\n"
	"    except SystemExit as _e:\n"
	"        _c = _e.code\n"
	"        if _c is None:\n"
	"            _rc = 0\n"
	"        elif isinstance(_c, int):\n"
	"            _rc = _c & 0xff\n"
	"        else:\n"
	"            print(_c, file=sys.stderr)\n"
	"            _rc = 1\n"
	"    except BaseException as _e:\n"
	"        traceback.print_exception(type(_e), _e, _e.__traceback__.tb_next)\n"
	"        _rc = 1\n"
	"    for _f in (sys.stdout, sys.stderr):\n"
	"        try:\n"
	"            _f.flush()\n"
	"        except Exception:\n"
	"            pass\n"
	"    _rp.write((json.dumps({'exit': _rc}) + '\\n').encode())\n";

/* node, bun and deno: one realm; top-level let/const/function persist between blocks as
 * between <script> tags; a returned promise is awaited. */
static const char js_driver[] =
	"const load = typeof require === 'function' ? require : process.getBuiltinModule;\n"
	"const fs = load('node:fs'), vm = load('node:vm'), mod = load('node:module');\n"
	"globalThis.require = mod.createRequire('/sandbox/');\n"
	"const rq = fs.openSync('/proc/self/fd/3', 'r'), rp = fs.openSync('/proc/self/fd/4', 'w');\n"
	"class IsolExit { constructor(c) { this.code = c; } }\n"
	"const realExit = process.exit.bind(process);\n"
	"process.exit = (c) => { throw new IsolExit(c ?? process.exitCode ?? 0); };\n"
	"const report = (e) => { if (!(e instanceof IsolExit)) console.error(e && e.stack ? e.stack : String(e)); };\n"
	"process.on('uncaughtException', report);\n"
	"process.on('unhandledRejection', report);\n"
	"let pending = Buffer.alloc(0), n = 0;\n"
	"function readLine() {\n"
	"  for (;;) {\n"
	"    const i = pending.indexOf(10);\n"
	"    if (i >= 0) { const l = pending.subarray(0, i).toString('utf8'); pending = pending.subarray(i + 1); return l; }\n"
	"    const b = Buffer.alloc(65536);\n"
	"    let k;\n"
	"    try { k = fs.readSync(rq, b, 0, b.length, null); } catch (e) { if (e.code === 'EAGAIN') continue; throw e; }\n"
	"    if (k === 0) return null;\n"
	"    pending = Buffer.concat([pending, b.subarray(0, k)]);\n"
	"  }\n"
	"}\n"
	"const flush = (s) => new Promise((r) => s.write('', () => r()));\n"
	"(async () => {\n"
	"  for (;;) {\n"
	"    const line = readLine();\n"
	"    if (line === null) realExit(0);\n"
	"    const req = JSON.parse(line);\n"
	"    n++;\n"
	"    let rc = 0;\n"
	"    Object.assign(process.env, req.env || {});\n"
	"    try {\n"
	"      const r = vm.runInThisContext(req.code, { filename: `<exec ${n}>` });\n"
	"      if (r && typeof r.then === 'function') await r;\n"
	"    } catch (e) {\n"
	"      if (e instanceof IsolExit) rc = Number(e.code) & 255; else { report(e); rc = 1; }\n"
	"    }\n"
	"    await flush(process.stdout);\n"
	"    await flush(process.stderr);\n"
	"    fs.writeSync(rp, JSON.stringify({ exit: rc }) + '\\n');\n"
	"  }\n"
	"})();\n";

/* One shell. A block becomes the body of a function, with `exit` aliased to `return`, so
 * `exit 3` ends the block with 3; variables, functions and the directory persist.
 * Requests: code NUL stdin NUL. */
static const char bash_driver[] =
	"shopt -s expand_aliases\n"
	"alias exit=return\n"
	"while IFS= read -r -d '' -u 3 __isol8_code; do\n"
	"  IFS= read -r -d '' -u 3 __isol8_stdin\n"
	"  if eval \"__isol8_block() {\n$__isol8_code\n}\"; then\n"
	"    __isol8_block < <(printf '%s' \"$__isol8_stdin\")\n"
	"    __isol8_rc=$?\n"
	"  else\n"
	"    __isol8_rc=2\n"
	"  fi\n"
	"  printf '{\"exit\":%d}\\n' \"$__isol8_rc\" >&4\n"
	"done\n";

const isol8_driver *driver_for(const char *runtime)
{
	static const isol8_driver drivers[] = {
		{"python", {"python3", "-c", python_driver}, NULL, NULL, false},
		{"node", {"node", "-e", js_driver}, NULL, NULL, false},
		{"bun", {"bun", "-e", js_driver}, NULL, NULL, false},
		/* deno eval would grant every permission: run the driver file with the same
		 * permissions as an ephemeral deno run, plus the two channel fds */
		{"deno", {"deno", "run", "--quiet", "--allow-read=/sandbox,/tmp,/proc/self/fd",
			  "--allow-write=/sandbox,/tmp,/proc/self/fd", "--allow-env", "--allow-net",
			  "/tmp/.isol8-driver.mjs"},
		 "/tmp/.isol8-driver.mjs", js_driver, false},
		{"bash", {"bash", "-c", bash_driver}, NULL, NULL, true},
	};
	for (size_t i = 0; i < sizeof drivers / sizeof *drivers; i++)
		if (!strcmp(drivers[i].runtime, runtime))
			return &drivers[i];
	return NULL;
}
