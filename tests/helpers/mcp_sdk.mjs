#!/usr/bin/env node
// mcp_sdk.mjs — drives an isol8 MCP server with the official MCP TypeScript SDK (its Client), as an
// agent's client would, and prints one JSON line per check: {"ok": bool, "name": "...", "diag": "..."}.
//
//   mcp_sdk.mjs SCENARIO stdio -- COMMAND [ARGS…]   the server as a subprocess (StdioClientTransport)
//   mcp_sdk.mjs SCENARIO http URL                   Streamable HTTP (StreamableHTTPClientTransport);
//                                                   ISOL8_MCP_KEY is sent as "Authorization: Bearer"
//
// SCENARIO: core, cancel, sessions, disconnect or figures. The SDK comes from the prefix that
// scripts/deps.sh installs it into (ISOL8_TEST_NODE, default /opt/isol8/test-node).
// Never hangs: every request has the SDK's timeout, every check a bound, the scenario a deadline.
// Exit 0 when the scenario ran to its end (whatever its checks said), 1 when it could not, 2 for usage.
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const PREFIX = process.env.ISOL8_TEST_NODE || '/opt/isol8/test-node';
// The package's exports map sends "@modelcontextprotocol/sdk/*" to dist/esm/* for import: these are
// those files, by absolute path (ESM has no way to resolve a bare name from another prefix).
const SDK = `${PREFIX}/node_modules/@modelcontextprotocol/sdk/dist/esm`;
const { Client } = await import(`${SDK}/client/index.js`);
const { StdioClientTransport } = await import(`${SDK}/client/stdio.js`);
const { StreamableHTTPClientTransport } = await import(`${SDK}/client/streamableHttp.js`);
const { McpError, SUPPORTED_PROTOCOL_VERSIONS } = await import(`${SDK}/types.js`);

const CALL_MS = 30_000; // one request (the SDK's own timeout)
const CHECK_MS = 60_000; // one check
const DEADLINE_MS = 180_000; // the whole scenario

const [scenario, mode, ...rest] = process.argv.slice(2);
const stdioCmd = mode === 'stdio' && rest[0] === '--' ? rest.slice(1) : null;
const url = mode === 'http' && rest.length === 1 ? new URL(rest[0]) : null;
if (!(stdioCmd?.length || url)) {
	console.error('usage: mcp_sdk.mjs SCENARIO stdio -- COMMAND [ARGS…] | mcp_sdk.mjs SCENARIO http URL');
	process.exit(2);
}

// ---- reporting ---------------------------------------------------------------------------------

const show = (x) => {
	if (x instanceof Error) return `${x.constructor.name}${x.code !== undefined ? ` (code ${x.code})` : ''}: ${x.message}`;
	// long strings (base64 images above all) cut short, so a diag stays readable
	const s = JSON.stringify(x, (k, v) => (typeof v === 'string' && v.length > 1000 ? `${v.slice(0, 1000)}…(${v.length})` : v));
	return s === undefined ? String(x) : s.slice(0, 4000);
};
const report = (ok, name, diag = '') => console.log(JSON.stringify({ ok, name, diag: ok ? '' : diag }));

class Fail extends Error {}
// want(COND, GOT): the check fails, with GOT (what came back) as its diag, unless COND
const want = (cond, got) => {
	if (!cond) throw new Fail(typeof got === 'string' ? got : show(got));
};

function within(ms, promise, what) {
	let timer;
	const late = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Fail(`no answer within ${ms / 1000} s: ${what}`)), ms);
	});
	return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

let current = '(starting)';
// check(NAME, FN): runs FN (async, throws via want) as one check; its name may be refined by FN's result
async function check(name, fn) {
	current = name;
	try {
		const more = await within(CHECK_MS, fn(), name);
		report(true, typeof more === 'string' ? `${name} ${more}` : name);
	} catch (e) {
		report(false, name, e instanceof Fail ? e.message : `threw ${show(e)}`);
	}
}

const servers = new Set(); // the pids of the stdio servers still running
// Keeps the pid of a stdio transport's server from its start to its end. (The transport forgets
// it as soon as close() begins, and the Client calls handlers set before connect first.)
function track(transport) {
	let pid;
	const start = transport.start.bind(transport);
	transport.start = async () => {
		await start();
		servers.add((pid = transport.pid));
	};
	transport.onclose = () => servers.delete(pid);
}
// Ends the run where it is, and its servers with it (one that is stuck might not heed a closed stdin)
function bail() {
	for (const pid of servers) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {} // gone meanwhile
	}
	process.exit(1);
}
setTimeout(() => {
	report(false, `the ${scenario} scenario ended within ${DEADLINE_MS / 1000} s`, `still at: ${current}`);
	bail();
}, DEADLINE_MS).unref();

// ---- the client --------------------------------------------------------------------------------

const auth = { headers: process.env.ISOL8_MCP_KEY ? { Authorization: `Bearer ${process.env.ISOL8_MCP_KEY}` } : {} };
const declared = new Set(); // tools with an outputSchema
const undeclared = new Set(); // tools that returned structuredContent without one

// A connected client, tools listed (which is also what makes the SDK check each structuredContent
// against its tool's outputSchema); `version`: the protocol version the server answered initialize with.
// quiet: the connection is expected to fail, its errors not worth logging.
async function connect({ requestInit = auth, sessionId, quiet = false } = {}) {
	const transport = stdioCmd
		? new StdioClientTransport({ command: stdioCmd[0], args: stdioCmd.slice(1), env: { ...process.env }, stderr: 'inherit' })
		: new StreamableHTTPClientTransport(url, { requestInit, sessionId });
	if (stdioCmd) track(transport);
	const c = { transport, client: new Client({ name: 'isol8-sdk-test', version: '1.0.0' }) };
	// The Client keeps a handler set before connect and calls it first; the SDK keeps the
	// negotiated version to itself, so it is read off the initialize response here.
	transport.onmessage = (m) => {
		if (m.result?.protocolVersion && !c.version) c.version = m.result.protocolVersion;
	};
	c.client.onerror = (e) => quiet || console.error(`client (${scenario}): ${show(e)}`);
	await c.client.connect(transport, { timeout: CALL_MS });
	if (!sessionId) {
		c.tools = (await c.client.listTools(undefined, { timeout: CALL_MS })).tools;
		for (const t of c.tools) if (t.outputSchema) declared.add(t.name);
	}
	return c;
}

async function call(c, name, args, opts = {}) {
	const r = await c.client.callTool({ name, arguments: args }, undefined, { timeout: CALL_MS, ...opts });
	if (r.structuredContent && !declared.has(name)) undeclared.add(name);
	return r;
}

const texts = (r) => (r.content ?? []).filter((b) => b.type === 'text').map((b) => b.text);
// does X hold the value V anywhere (a session id in a listing, whatever its shape)?
const holds = (x, v) => x === v || (x !== null && typeof x === 'object' && Object.values(x).some((y) => holds(y, v)));
const pgrep = (pattern) => spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout.trim();
const unique = (what) => `isol8-sdk-${what}-${process.pid}-${Date.now()}`;
const py = (code) => ({ language: 'python', code });

// connect(), or the scenario ends here: nothing after it could run
async function mustConnect(what, opts) {
	current = what;
	try {
		return await within(CHECK_MS, connect(opts), what);
	} catch (e) {
		report(false, what, show(e));
		bail();
	}
}

async function closeClient(c) {
	await within(10_000, c.client.close(), 'client.close()');
}

// ---- scenarios ---------------------------------------------------------------------------------

const TOOLS = ['run_code', 'run_command', 'write_file', 'read_file', 'list_files', 'create_session', 'list_sessions', 'close_session'];

async function core(c) {
	await check('initialize: a protocol version the SDK speaks, serverInfo.name "isol8"', async () => {
		want(SUPPORTED_PROTOCOL_VERSIONS.includes(c.version) && c.client.getServerVersion()?.name === 'isol8',
			{ protocolVersion: c.version, serverInfo: c.client.getServerVersion() });
		return `(${c.version})`;
	});
	if (url) {
		await check('Streamable HTTP: the transport has an Mcp-Session-Id after initialize', async () => {
			want(typeof c.transport.sessionId === 'string' && /^[\x21-\x7e]+$/.test(c.transport.sessionId), { sessionId: c.transport.sessionId });
		});
		await check('Streamable HTTP: without the bearer key, initialize is refused (401)', async () => {
			const err = await connect({ requestInit: {}, quiet: true }).then((bare) => closeClient(bare), (e) => e);
			want(err?.code === 401, err ?? 'connected without a key');
		});
	}
	await check(`tools/list: exactly ${TOOLS.join(', ')}, each with an inputSchema`, async () => {
		const names = c.tools.map((t) => t.name);
		want(names.length === TOOLS.length && TOOLS.every((n) => names.includes(n)) && c.tools.every((t) => t.inputSchema?.type === 'object'), names);
	});
	await check('run_code python print(2**10): text "1024", exitCode 0, not isError', async () => {
		const r = await call(c, 'run_code', py('print(2**10)'));
		want(r.isError === false && texts(r).some((t) => t.trim() === '1024') && r.structuredContent?.exitCode === 0, r);
	});
	await check('run_command "echo hi; exit 3": isError, exitCode 3, the output still there', async () => {
		const r = await call(c, 'run_command', { command: 'echo hi; exit 3' });
		want(r.isError === true && r.structuredContent?.exitCode === 3 && texts(r).some((t) => t.trim() === 'hi'), r);
	});
	await check('a python program that raises: isError, the exception in a text block', async () => {
		const r = await call(c, 'run_code', py('raise ValueError("boom from the test")'));
		want(r.isError === true && texts(r).some((t) => t.includes('ValueError: boom from the test')), r);
	});
	await check('progress: output while the program runs arrives before the result', async () => {
		const seen = [];
		const r = await call(c, 'run_code', py('import time\nprint("first", flush=True)\ntime.sleep(1)\nprint("second")'), {
			onprogress: (p) => seen.push(p),
		});
		const rising = seen.every((p, i) => i === 0 || p.progress > seen[i - 1].progress); // the specification's MUST
		want(seen.length >= 1 && rising && texts(r).some((t) => t.includes('first\nsecond')), { progress: seen, result: r });
		return `(${seen.length} notifications)`;
	});
	await check('an unknown tool: McpError -32602', async () => {
		const err = await call(c, 'no_such_tool', {}).then((r) => r, (e) => e);
		want(err instanceof McpError && err.code === -32602, err);
	});
	await check('run_code with language 5: refused', async () => {
		const err = await call(c, 'run_code', { language: 5, code: 'print(1)' }).then((r) => r, (e) => e);
		if (err instanceof McpError) {
			want(err.code === -32602, err);
			return '(McpError -32602)';
		}
		want(err.isError === true, err);
		return '(an isError result)';
	});
	// the SDK itself checks each structuredContent against the tool's outputSchema (a mismatch throws)
	await check('every tool that returned structuredContent declares an outputSchema', async () => {
		want(undeclared.size === 0, `structuredContent without outputSchema: ${[...undeclared].join(', ')}`);
	});
}

async function cancel(c) {
	const marker = unique('cancel');
	let running = '';
	await check('cancellation: aborting a running call rejects it at once', async () => {
		const ac = new AbortController();
		const safety = setTimeout(() => ac.abort('no output within 5 s'), 5_000);
		const started = Date.now();
		const err = await call(c, 'run_code', py(`import time\nprint("running", flush=True)\ntime.sleep(60)  # ${marker}`), {
			signal: ac.signal,
			onprogress: () => {
				running ||= pgrep(marker); // the program is there to be ended
				ac.abort('the test cancels');
			},
		}).then((r) => r, (e) => e);
		clearTimeout(safety);
		const took = Date.now() - started;
		want(err instanceof Error && running && took < 10_000, { answer: err, pids: running, ms: took });
		return `(${took} ms)`;
	});
	await check('…and no process of its sandbox is left', async () => {
		want(running, 'the program was never seen running');
		// nothing tells the client when the sandbox is gone: look, for up to 10 s
		for (const end = Date.now() + 10_000; pgrep(marker) && Date.now() < end; ) await sleep(50);
		const left = pgrep(marker);
		want(!left, `still running: ${left}`);
	});
	await check('…and the server answers the next call', async () => {
		const r = await call(c, 'run_command', { command: 'echo after' });
		want(r.isError === false && texts(r).some((t) => t.trim() === 'after'), r);
	});
}

async function sessions(c) {
	let sid;
	const inSession = (name, args) => {
		want(sid, 'no session: create_session failed');
		return call(c, name, { ...args, sessionId: sid });
	};
	await check('create_session python: structuredContent.sessionId, a string', async () => {
		const r = await call(c, 'create_session', { language: 'python' });
		sid = r.structuredContent?.sessionId;
		want(r.isError !== true && typeof sid === 'string' && sid, r);
	});
	await check('run_code in the session keeps its state: x = 41, then print(x+1) gives 42', async () => {
		const a = await inSession('run_code', py('x = 41'));
		want(a.isError === false, a);
		const b = await inSession('run_code', py('print(x+1)'));
		want(b.isError === false && texts(b).some((t) => t.trim() === '42'), b);
	});
	await check('write_file /sandbox/a.txt, then read_file: "hello", in text and structuredContent.content', async () => {
		const w = await inSession('write_file', { path: '/sandbox/a.txt', content: 'hello' });
		want(w.isError !== true, w);
		const r = await inSession('read_file', { path: '/sandbox/a.txt' });
		want(r.isError !== true && texts(r).includes('hello') && r.structuredContent?.content === 'hello', r);
	});
	await check('list_files /sandbox: entries has {name: a.txt, type: file, size: 5}', async () => {
		const r = await inSession('list_files', { path: '/sandbox' });
		const entries = r.structuredContent?.entries;
		want(r.isError !== true && Array.isArray(entries) && entries.some((e) => e.name === 'a.txt' && e.type === 'file' && e.size === 5), r);
	});
	await check('write_file with encoding base64: the program reads the decoded bytes', async () => {
		const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 10]);
		const w = await inSession('write_file', { path: '/sandbox/b.bin', content: bytes.toString('base64'), encoding: 'base64' });
		want(w.isError !== true, w);
		const r = await inSession('run_code', py('print(open("/sandbox/b.bin", "rb").read().hex())'));
		want(r.isError === false && texts(r).some((t) => t.trim() === bytes.toString('hex')), r);
	});
	await check('list_sessions has the session', async () => {
		const r = await call(c, 'list_sessions', {});
		want(sid && holds(r.structuredContent, sid), r);
	});
	for (const path of ['/etc/passwd', '../x'])
		await check(`read_file ${path}: refused (outside /sandbox), isError`, async () => {
			const r = await inSession('read_file', { path }).then((r) => r, (e) => e);
			want(r.isError === true && !texts(r).some((t) => t.includes('root:')), r);
		});
	await check('close_session; then run_code with its id is isError', async () => {
		const cl = await inSession('close_session', {});
		want(cl.isError !== true, cl);
		const r = await inSession('run_code', py('print(1)'));
		want(r.isError === true, r);
	});
	await check('every tool that returned structuredContent declares an outputSchema', async () => {
		want(undeclared.size === 0, `structuredContent without outputSchema: ${[...undeclared].join(', ')}`);
	});
}

// The client leaves; its unnamed sessions go with it, a named one stays for the next client.
async function disconnect(c) {
	const name = unique('named');
	let unnamed, named;
	await check('create_session: one unnamed, one named', async () => {
		const a = await call(c, 'create_session', { language: 'python' });
		const b = await call(c, 'create_session', { language: 'python', name });
		unnamed = a.structuredContent?.sessionId;
		named = b.structuredContent?.sessionId;
		want(typeof unnamed === 'string' && typeof named === 'string' && unnamed !== named, { unnamed: a, named: b });
	});
	const mcpSession = c.transport.sessionId;
	await check(url ? 'the client ends its MCP session (terminateSession, DELETE)' : 'the client leaves (client.close ends the server)', async () => {
		if (url) await c.transport.terminateSession();
		await c.client.close();
		want(servers.size === 0, 'its server process still runs');
	});
	const next = await mustConnect('a new client connects');
	await check('a new client: list_sessions has the named session and not the unnamed one', async () => {
		const r = await call(next, 'list_sessions', {});
		want(named && unnamed && holds(r.structuredContent, named) && !holds(r.structuredContent, unnamed), { unnamed, named, list: r });
	});
	if (url)
		await check('the ended MCP session id is answered 404', async () => {
			const stale = await connect({ sessionId: mcpSession, quiet: true });
			const err = await stale.client.ping({ timeout: CALL_MS }).then((r) => r, (e) => e);
			await closeClient(stale);
			want(err?.code === 404, err);
		});
	await check('close_session of the named session', async () => {
		want(named, 'no named session');
		const r = await call(next, 'close_session', { sessionId: named });
		want(r.isError !== true, r);
		const l = await call(next, 'list_sessions', {});
		want(!holds(l.structuredContent, named), l);
	});
	return next;
}

async function figures(c) {
	await check('matplotlib plt.show(): an image content block, image/png', async () => {
		const r = await call(c, 'run_code', py('import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()'));
		const img = (r.content ?? []).find((b) => b.type === 'image');
		want(r.isError === false && img?.mimeType === 'image/png' && img.data?.startsWith('iVBORw0KGgo'), r);
	});
}

// ---- main --------------------------------------------------------------------------------------

const scenarios = { core, cancel, sessions, disconnect, figures };
if (!scenarios[scenario]) {
	console.error(`unknown scenario ${scenario}: ${Object.keys(scenarios).join(', ')}`);
	process.exit(2);
}
let c = await mustConnect('the SDK client connects and lists the tools');
c = (await scenarios[scenario](c)) ?? c; // a scenario that reconnects hands back its last client
current = 'client.close()';
await closeClient(c).catch((e) => report(false, 'the client closes', show(e)));
process.exit(0);
