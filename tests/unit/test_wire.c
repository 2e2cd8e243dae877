/* test_wire.c — round trips of the messages between the native sandbox's processes and of the
 * run-dir record: what one side writes, the other reads back unchanged; anything malformed is
 * refused (CTL_BAD, CTL_REQ_BAD, -1), never guessed at. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sandbox.h"
#include "state/netlog.h"
#include "state/record.h"
#include "tap.h"
#include "wire/ctl.h"
#include "wire/feed.h"
#include "wire/options.h"
#include "wire/request.h"
#include "wire/result.h"
#include "wire/poolmsg.h"
#include "wire/zygmsg.h"
#include "wire/sessionmsg.h"

/* What one ctl writer put on a socket, read back as one line and parsed. */
static void read_msg(int fd, ctl_msg *m)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	size_t len = n > 0 ? (size_t)n : 0;
	ok(len > 0 && buf[len - 1] == '\n', "one whole line");
	ctl_parse(buf, len ? len - 1 : 0, m);
}

static void test_ctl_status(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	ctl_msg m;
	ctl_send_exit(sv[0], 42, 3 << 8, NULL, false);
	read_msg(sv[1], &m);
	ok(m.kind == CTL_EXIT && m.code == 3 && m.pid == 42 && ctl_exit_code(&m) == 3, "exit status round trip");
	ctl_msg_free(&m);
	ctl_send_exit(sv[0], 42, 0, NULL, true);
	read_msg(sv[1], &m);
	ok(m.kind == CTL_EXIT && m.found && m.pid == 42, "an exit status says the probe path was found");
	ctl_msg_free(&m);
	ctl_send_exit(sv[0], 7, 9, NULL, false); /* killed by SIGKILL */
	read_msg(sv[1], &m);
	ok(m.kind == CTL_SIGNAL && m.code == 9 && m.pid == 7 && ctl_exit_code(&m) == 137, "signal round trip");
	ctl_msg_free(&m);
	ctl_send_exit(sv[0], 8, 0, "execve /x: \"quoted\"\nnewline", false);
	read_msg(sv[1], &m);
	ok(m.kind == CTL_ERROR && m.pid == 8 && !strcmp(m.error, "execve /x: \"quoted\"\nnewline") &&
		   ctl_exit_code(&m) == 127,
	   "exec failure round trip (quotes and newline escaped)");
	ctl_msg_free(&m);
	ctl_send_error(sv[0], "setup failed");
	read_msg(sv[1], &m);
	ok(m.kind == CTL_ERROR && m.pid == 0 && !strcmp(m.error, "setup failed"), "error reply has no pid");
	ctl_msg_free(&m);
	ctl_send_reply(sv[0], "size", 123456789012LL);
	read_msg(sv[1], &m);
	ok(m.kind == CTL_REPLY && !strcmp(m.reply, "size") && m.value == 123456789012LL && m.pid == 0, "reply round trip");
	ctl_msg_free(&m);
	ctl_send_ready(sv[0], -1);
	read_msg(sv[1], &m);
	ok(m.kind == CTL_READY && !m.listener, "ready round trip");
	ctl_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
}

static void test_ctl_refused(void)
{
	static const char *const bad[] = {
		"", "null", "[1]", "{\"exit\":1}", "{\"exit\":256,\"pid\":3}", "{\"exit\":-1,\"pid\":3}",
		"{\"exit\":1.5,\"pid\":3}", "{\"exit\":\"1\",\"pid\":3}", "{\"signal\":0,\"pid\":3}",
		"{\"exit\":0,\"pid\":0}", "{\"exit\":0,\"pid\":-4}", "{\"ok\":\"yes\"}", "{\"size\":-1}",
		"{\"whatever\":1}", "{\"exit\":0,\"pid\":3", "{\"error\":5}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ctl_msg m;
		ctl_parse(bad[i], strlen(bad[i]), &m);
		ok(m.kind == CTL_BAD, "refused: %s", bad[i]);
		ctl_msg_free(&m);
	}
}

static void test_ctl_requests(void)
{
	ctl_req in[] = {
		{.kind = CTL_REQ_GET, .path = "/sandbox/a \"b\"\n", .max = 1 << 20},
		{.kind = CTL_REQ_PUT, .path = "/tmp/x", .size = 99, .mode = 0700},
		{.kind = CTL_REQ_SPAWN},
		{.kind = CTL_REQ_KILLALL},
		{.kind = CTL_REQ_TAKE, .path = "/tmp/.isol8-outputs", .max = 8 << 20, .count = 20, .remove = true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		char *line = ctl_request_line(&in[i]);
		size_t n = strlen(line);
		ctl_req out;
		ctl_parse_request(line, n - 1, &out);
		ok(line[n - 1] == '\n' && !memchr(line, '\n', n - 1) && out.kind == in[i].kind &&
			   (!in[i].path || !strcmp(out.path, in[i].path)) && out.max == in[i].max && out.size == in[i].size &&
			   out.mode == in[i].mode && out.count == in[i].count && out.remove == in[i].remove,
		   "request %zu round trip (one line)", i);
		ctl_req_free(&out);
		free(line);
	}
	static const char *const bad[] = {"{\"get\":\"/x\"}", "{\"put\":\"/x\"}", "{\"get\":1,\"max\":2}",
					  "{\"put\":\"/x\",\"size\":-5}", "{\"spawn\":1}", "x",
					  "{\"take\":\"/x\",\"max\":1}", "{\"take\":\"/x\",\"max\":1,\"count\":-1}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ctl_req r;
		ctl_parse_request(bad[i], strlen(bad[i]), &r);
		ok(r.kind == CTL_REQ_BAD, "request refused: %s", bad[i]);
		ctl_req_free(&r);
	}
}

static void test_feed(void)
{
	char *argv[] = {"python3", "-c", "print(1)", NULL}, *envp[] = {"PATH=/usr/bin", "A=", NULL};
	unsigned char bin[] = {0, 1, 2, 0xff, 0};
	isol8_file files[] = {{"/sandbox/a.py", (unsigned char *)"x = 1\n", 6, 0}, {"/tmp/b", bin, sizeof bin, 0755}};
	isol8_exec_spec spec = {argv, envp, "/sandbox/w", files, 2};
	int p[2];
	ok(pipe(p) == 0, "pipe");
	isol8_err err = {0};
	ok(feed_write(p[1], &spec, &err) == 0, "feed written");
	close(p[1]);
	char type, *data;
	uint64_t len;
	const char *path, *content;
	uint32_t mode;
	size_t clen, total = 0;
	int nfiles = 0;
	bool argv_ok = false, env_ok = false, cwd_ok = false, go = false;
	while (feed_next(p[0], &type, &data, &len) == 1) {
		total += 9 + len;
		if (type == 'F' && feed_file(data, len, &path, &mode, &content, &clen) == 0) {
			const isol8_file *f = &files[nfiles++];
			ok(!strcmp(path, f->path) && clen == f->len && !memcmp(content, f->data, clen) &&
				   mode == (f->mode ? f->mode : 0644u),
			   "file %s round trip", f->path);
		} else if (type == 'A') {
			char **v = feed_list(data, len);
			argv_ok = v[0] && !strcmp(v[2], "print(1)") && !v[3];
			for (char **s = v; *s; s++)
				free(*s);
			free(v);
		} else if (type == 'E') {
			char **v = feed_list(data, len);
			env_ok = v[0] && !strcmp(v[1], "A=") && !v[2];
			for (char **s = v; *s; s++)
				free(*s);
			free(v);
		} else if (type == 'C') {
			cwd_ok = !strcmp(data, "/sandbox/w");
		} else if (type == 'X') {
			go = true;
		}
		free(data);
		if (go)
			break;
	}
	ok(nfiles == 2 && argv_ok && env_ok && cwd_ok && go, "argv, env, cwd and go round trip");
	ok(total == feed_size(&spec), "feed_size is exact (%zu)", total);
	close(p[0]);

	/* a frame that claims more than it carries, or more than FEED_FRAME_MAX */
	ok(pipe(p) == 0, "pipe");
	uint64_t huge = FEED_FRAME_MAX + 1;
	(void)!write(p[1], "A", 1);
	(void)!write(p[1], &huge, 8);
	close(p[1]);
	ok(feed_next(p[0], &type, &data, &len) == -1 && !data, "oversized frame refused");
	close(p[0]);
	ok(pipe(p) == 0, "pipe");
	uint64_t ten = 10;
	(void)!write(p[1], "F", 1);
	(void)!write(p[1], &ten, 8);
	(void)!write(p[1], "abc", 3);
	close(p[1]);
	ok(feed_next(p[0], &type, &data, &len) == -1, "short frame refused");
	close(p[0]);
	ok(pipe(p) == 0, "pipe");
	close(p[1]);
	ok(feed_next(p[0], &type, &data, &len) == 0, "EOF before any frame: discarded unfed");
	close(p[0]);
	ok(feed_file("nonul", 5, &path, &mode, &content, &clen) < 0, "file frame without NUL and mode refused");
}

static void test_record(void)
{
	char dir[] = "/tmp/isol8-test-record-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	char *path = xasprintf("%s/0123456789abcdef.json", dir);
	isol8_record w, r;
	record_fill(&w, "0123456789abcdef", getpid(), getppid(), 1, true);
	ok(record_write(path, &w) == 0, "record written");
	ok(record_read(path, &r) == 0, "record read");
	ok(!strcmp(r.id, w.id) && r.pid == w.pid && r.start == w.start && r.start && !strcmp(r.boot, w.boot) &&
		   r.supervisor == w.supervisor && r.sup_start == w.sup_start && r.cgroup_version == 1 && r.persist &&
		   !strcmp(r.created, w.created),
	   "every field round trips");
	ok(proc_alive(r.pid, r.start) && !proc_alive(r.pid, r.start + 1), "its identity names this process only");
	char *tmp = xasprintf("%s.tmp", path);
	ok(access(tmp, F_OK) != 0, "no .tmp left behind");
	static const char *const bad[] = {
		"", "{}", "[]", "{\"id\":\"../../etc\",\"pid\":1,\"startTime\":1,\"bootId\":\"b\"}",
		"{\"id\":\"0123456789ABCDEF\",\"pid\":1,\"startTime\":1,\"bootId\":\"b\"}",
		"{\"id\":\"0123456789abcdef\",\"pid\":\"1\",\"startTime\":1,\"bootId\":\"b\"}",
		"{\"id\":\"0123456789abcdef\",\"pid\":1,\"bootId\":\"b\"}",
		"{\"id\":\"0123456789abcdef\",\"pid\":-1,\"startTime\":1,\"bootId\":\"b\"}",
		"{\"id\":\"0123456789abcdef\",\"pid\":1,\"startTime\":1,\"bootId\":\"b\"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_file(path, bad[i], 0600);
		ok(record_read(path, &r) < 0, "malformed record refused: %s", bad[i]);
	}
	unlink(path);
	ok(record_read(path, &r) < 0, "missing record refused");
	ok(record_id_valid("0123456789abcdef") && !record_id_valid("0123456789abcde") &&
		   !record_id_valid("0123456789abcdeg") && !record_id_valid("../0123456789abc"),
	   "ids: 16 lowercase hex digits only");
	rmdir(dir);
	free(tmp);
	free(path);
}

static void test_poolmsg(void)
{
	pool_request in = {.op = POOL_OP_ACQUIRE, .env_digest = 0xfedcba9876543210ull}, out;
	in.limits.memory_limit = 512ull << 20;
	in.limits.cpu_limit = 1.5;
	in.limits.pids_limit = 64;
	in.limits.sandbox_size = 64ull << 20;
	in.limits.tmp_size = 256ull << 20;
	in.limits.seccomp = ISOL8_SECCOMP_STRICT;
	snprintf(in.runtime, sizeof in.runtime, "python");
	char *line = poolmsg_request_line(&in);
	poolmsg_parse_request(line, strlen(line) - 1, &out);
	ok(out.op == POOL_OP_ACQUIRE && !strcmp(out.runtime, "python") && out.env_digest == in.env_digest &&
		   out.limits.memory_limit == in.limits.memory_limit && out.limits.cpu_limit == 1.5 &&
		   out.limits.pids_limit == 64 && out.limits.sandbox_size == in.limits.sandbox_size &&
		   out.limits.tmp_size == in.limits.tmp_size && out.limits.seccomp == ISOL8_SECCOMP_STRICT,
	   "acquire round trip");
	ok(!out.session, "…not for a session");
	free(line);
	in.session = true;
	line = poolmsg_request_line(&in);
	poolmsg_parse_request(line, strlen(line) - 1, &out);
	ok(out.op == POOL_OP_ACQUIRE && out.session && !strcmp(out.runtime, "python"), "a session's acquire round trip");
	free(line);
	static const char no_rt[] = "{\"op\":\"acquire\",\"session\":true}";
	poolmsg_parse_request(no_rt, strlen(no_rt), &out);
	ok(!out.session, "a session's acquire without a runtime and digest asks for no interpreter");
	in.session = false;
	in.runtime[0] = 0;
	in.limits.seccomp = ISOL8_SECCOMP_UNCONFINED;
	line = poolmsg_request_line(&in);
	poolmsg_parse_request(line, strlen(line) - 1, &out);
	ok(out.op == POOL_OP_ACQUIRE && !out.runtime[0] && out.limits.seccomp == ISOL8_SECCOMP_UNCONFINED &&
		   !out.layer[0],
	   "plain acquire round trip");
	free(line);
	snprintf(in.layer, sizeof in.layer, "/var/lib/isol8/images/.layers/py-1/layer");
	line = poolmsg_request_line(&in);
	poolmsg_parse_request(line, strlen(line) - 1, &out);
	ok(out.op == POOL_OP_ACQUIRE && !strcmp(out.layer, in.layer), "an image's acquire round trip");
	free(line);
	in.layer[0] = 0;
	static const char *const bad_layer[] = {"{\"op\":\"acquire\",\"layer\":7}", "{\"op\":\"acquire\",\"layer\":\"a\\u0000b\"}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_layer); i++) {
		poolmsg_parse_request(bad_layer[i], strlen(bad_layer[i]), &out);
		ok(out.op == POOL_OP_BAD, "a layer that cannot be read is refused, never taken as none: %s", bad_layer[i]);
	}
	char *longl = xasprintf("{\"op\":\"acquire\",\"layer\":\"/%01100d\"}", 0);
	poolmsg_parse_request(longl, strlen(longl), &out);
	ok(out.op == POOL_OP_BAD, "…nor one too long to hold");
	free(longl);
	pool_request st = {.op = POOL_OP_STATUS};
	line = poolmsg_request_line(&st);
	poolmsg_parse_request(line, strlen(line) - 1, &out);
	ok(out.op == POOL_OP_STATUS, "status round trip");
	free(line);
	static const char *const bad[] = {"", "{}", "{\"op\":\"steal\"}", "{\"op\":1}", "[\"acquire\"]"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		poolmsg_parse_request(bad[i], strlen(bad[i]), &out);
		ok(out.op == POOL_OP_BAD, "pool request refused: %s", bad[i]);
	}
	const char *no_digest = "{\"op\":\"acquire\",\"runtime\":\"python\",\"env\":\"xyz\",\"seccomp\":\"strict\"}";
	poolmsg_parse_request(no_digest, strlen(no_digest), &out);
	ok(out.op == POOL_OP_ACQUIRE && !out.runtime[0], "no interpreter without a valid digest");
	const char *sc = "{\"op\":\"acquire\",\"seccomp\":\"STRICT\"}";
	poolmsg_parse_request(sc, strlen(sc), &out);
	ok(out.limits.seccomp == ISOL8_SECCOMP_UNCONFINED, "an unknown seccomp mode never matches a strict pool");

	pool_reply r;
	line = poolmsg_handover_line("0123456789abcdef", 4242, "python-session", 2);
	ok(poolmsg_parse_reply(line, strlen(line) - 1, &r) == 0 && r.handed && !strcmp(r.driver, "python-session") &&
		   r.driver_pid == 2,
	   "session hand-over round trip, with the driver's pid");
	free(line);
	line = poolmsg_handover_line("0123456789abcdef", 4242, "node", 0);
	ok(poolmsg_parse_reply(line, strlen(line) - 1, &r) == 0 && r.handed && !strcmp(r.id, "0123456789abcdef") &&
		   r.pid == 4242 && !strcmp(r.driver, "node"),
	   "hand-over round trip");
	free(line);
	line = poolmsg_handover_line("0123456789abcdef", 7, NULL, 0);
	ok(poolmsg_parse_reply(line, strlen(line) - 1, &r) == 0 && r.handed && !r.driver[0], "plain hand-over round trip");
	free(line);
	line = poolmsg_miss_line("empty");
	ok(poolmsg_parse_reply(line, strlen(line) - 1, &r) == 0 && !r.handed && !strcmp(r.miss, "empty"), "miss round trip");
	free(line);
	pool_status_msg ps = {.pid = 4321, .size = 2, .ready = 3, .nkinds = 2, .hits = 10, .warm_hits = 7, .misses = 1,
			      .discarded = 4, .memory_limit = 512ull << 20},
			back;
	snprintf(ps.strategy, sizeof ps.strategy, "fast");
	snprintf(ps.kinds[0].name, sizeof ps.kinds[0].name, "plain");
	ps.kinds[0].ready = 1;
	snprintf(ps.kinds[1].name, sizeof ps.kinds[1].name, "python");
	ps.kinds[1].ready = 2;
	line = poolmsg_status_line(&ps);
	ok(poolmsg_parse_status(line, strlen(line) - 1, &back) == 0 && back.pid == 4321 && !strcmp(back.strategy, "fast") &&
		   back.size == 2 && back.ready == 3 && back.nkinds == 2 && !strcmp(back.kinds[1].name, "python") &&
		   back.kinds[1].ready == 2 && back.hits == 10 && back.warm_hits == 7 && back.misses == 1 &&
		   back.discarded == 4 && back.memory_limit == ps.memory_limit,
	   "status round trip");
	free(line);
	ok(poolmsg_parse_status("{\"pid\":1}", 9, &back) < 0 && poolmsg_parse_status("{\"error\":\"x\"}", 13, &back) < 0,
	   "a partial status or an error is not a status");
	line = poolmsg_error_line("unknown op");
	ok(poolmsg_parse_reply(line, strlen(line) - 1, &r) < 0 && strstr(line, "unknown op"), "an error line is no hand-over");
	free(line);
	static const char *const badr[] = {"{\"id\":\"x\"}", "{\"id\":\"x\",\"pid\":0}", "{\"id\":5,\"pid\":3}",
					   "{\"id\":\"x\",\"pid\":3,\"driver\":4}", "{\"id\":\"x\",\"pid\":3,\"driverPid\":1}",
					   "{\"id\":\"x\",\"pid\":3,\"driverPid\":\"2\"}", "nope"};
	for (size_t i = 0; i < ARRAY_SIZE(badr); i++)
		ok(poolmsg_parse_reply(badr[i], strlen(badr[i]), &r) < 0 || !r.handed, "pool reply refused: %s", badr[i]);
}

static void test_zygmsg(void)
{
	zyg_request in = {.seccomp = true, .support = true, .sandbox_size = 64ull << 20, .tmp_size = 256ull << 20,
			  .cgroup = 1, .cgroup_fds = 3},
		    out;
	snprintf(in.staging, sizeof in.staging, "/run/isol8/root");
	snprintf(in.probe, sizeof in.probe, "/tmp/.isol8-outputs");
	char *line = zygmsg_request_line(&in);
	ok(zygmsg_parse_request(line, strlen(line), &out) == 0 && out.seccomp && !out.user && out.support &&
		   out.sandbox_size == in.sandbox_size && out.tmp_size == in.tmp_size && !strcmp(out.staging, in.staging) &&
		   !out.runtimes[0] && !strcmp(out.probe, in.probe) && out.cgroup == 1 && out.cgroup_fds == 3,
	   "zygote request round trip");
	free(line);
	static const char *const bad[] = {
		"", "nope", "[]", "{}",
		/* a field missing, of the wrong type, or out of range */
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"cgroup\":0,\"cgroupFds\":0}",
		"{\"seccomp\":1,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"/r\",\"cgroup\":0,\"cgroupFds\":0}",
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":0,\"tmpSize\":1,\"staging\":\"/r\",\"cgroup\":0,\"cgroupFds\":0}",
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"r\",\"cgroup\":0,\"cgroupFds\":0}",
		/* a NUL in a path would cut it short */
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"/r\\u0000x\",\"cgroup\":0,\"cgroupFds\":0}",
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"/r\",\"probe\":\"x\",\"cgroup\":0,\"cgroupFds\":0}",
		/* cgroup fds that do not match the version */
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"/r\",\"cgroup\":1,\"cgroupFds\":0}",
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"/r\",\"cgroup\":2,\"cgroupFds\":2}",
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"/r\",\"cgroup\":1,\"cgroupFds\":5}",
		"{\"seccomp\":true,\"user\":false,\"support\":false,\"sandboxSize\":1,\"tmpSize\":1,\"staging\":\"/r\",\"cgroup\":1.5,\"cgroupFds\":1}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(zygmsg_parse_request(bad[i], strlen(bad[i]), &out) < 0, "zygote request refused: %s", bad[i]);
	pid_t pid = 0;
	char why[256];
	line = zygmsg_reply_line(4242, NULL);
	ok(zygmsg_parse_reply(line, strlen(line), &pid, why) == 1 && pid == 4242, "zygote reply round trip");
	free(line);
	line = zygmsg_reply_line(0, "malformed request");
	ok(zygmsg_parse_reply(line, strlen(line), &pid, why) == 0 && !strcmp(why, "malformed request"), "zygote error round trip");
	free(line);
	static const char *const badr[] = {"{\"pid\":1}", "{\"pid\":\"5\"}", "{}", "x"};
	for (size_t i = 0; i < ARRAY_SIZE(badr); i++)
		ok(zygmsg_parse_reply(badr[i], strlen(badr[i]), &pid, why) < 0, "zygote reply refused: %s", badr[i]);
}

static void test_netlog(void)
{
	char path[] = "/tmp/isol8-test-netlog-XXXXXX";
	int fd = mkstemp(path);
	netlog_entry a = {"GET", "example.com", "/a?\"q\"\x01", "ALLOW", NULL, 12};
	netlog_entry b = {"CONNECT", "evil.test", NULL, "BLOCK", "denied by rules", 0};
	ok(fd >= 0 && netlog_append(fd, &a) == 0 && netlog_append(fd, &b) == 0, "two entries appended");
	(void)!write(fd, "{\"cut", 5); /* a line cut short by a kill */
	close(fd);
	jv arr = netlog_read(path);
	ok(jv_array_length(jv_copy(arr)) == 2, "both read back, the cut line skipped");
	jv x = jv_array_get(jv_copy(arr), 0), y = jv_array_get(jv_copy(arr), 1);
	jv xp = jv_object_get(jv_copy(x), jv_string("path")), yp = jv_object_get(jv_copy(y), jv_string("path"));
	jv yr = jv_object_get(jv_copy(y), jv_string("reason")), xd = jv_object_get(jv_copy(x), jv_string("durationMs"));
	ok(jv_get_kind(xp) == JV_KIND_STRING && !strcmp(jv_string_value(xp), "/a?\"q\"\x01"), "path round trips (quotes, control byte)");
	ok(jv_get_kind(yp) == JV_KIND_NULL && !strcmp(jv_string_value(yr), "denied by rules") && jv_number_value(xd) == 12,
	   "CONNECT has a null path; reason and duration round trip");
	jv_free(xp);
	jv_free(yp);
	jv_free(yr);
	jv_free(xd);
	jv_free(x);
	jv_free(y);
	jv_free(arr);
	unlink(path);
	arr = netlog_read(path);
	ok(jv_array_length(arr) == 0, "a missing log is no entries");
}

static void test_sessionmsg(void)
{
	jv m = sessionmsg_put("/sandbox/a", "aGk=");
	jv p = jv_object_get(jv_copy(m), jv_string("path")), c = jv_object_get(jv_copy(m), jv_string("content"));
	ok(sessionmsg_op_of(m) == SESSION_OP_PUT && !strcmp(jv_string_value(p), "/sandbox/a") &&
		   !strcmp(jv_string_value(c), "aGk="),
	   "put round trip");
	jv_free(p);
	jv_free(c);
	jv_free(m);
	m = sessionmsg_get("/tmp/x");
	ok(sessionmsg_op_of(m) == SESSION_OP_GET, "get round trip");
	jv_free(m);
	m = sessionmsg_exec(jv_parse("{\"request\":{\"code\":\"1\"},\"options\":{}}"));
	jv r = jv_object_get(jv_copy(m), jv_string("request"));
	ok(sessionmsg_op_of(m) == SESSION_OP_EXEC && jv_get_kind(r) == JV_KIND_OBJECT, "exec keeps its request");
	jv_free(r);
	jv_free(m);
	for (int op = SESSION_OP_SHOW; op <= SESSION_OP_DELETE; op++) {
		m = sessionmsg_op((session_opcode)op);
		ok((int)sessionmsg_op_of(m) == op, "op %d round trip", op);
		jv_free(m);
	}
	jv rep = sessionmsg_error("no such file");
	ok(!strcmp(sessionmsg_error_of(rep), "no such file"), "refusal round trip");
	jv_free(rep);
	rep = sessionmsg_content("AAH/");
	isol8_buf got = {0};
	ok(sessionmsg_content_of(rep, &got) == 0 && got.len == 3 && got.data[2] == 0xff && !sessionmsg_error_of(rep),
	   "content round trip (binary)");
	isol8_buf_free(&got);
	jv_free(rep);
	rep = jv_parse("{\"content\":\"@@\"}");
	ok(sessionmsg_content_of(rep, &got) < 0, "content that is not base64 is refused");
	isol8_buf_free(&got);
	jv_free(rep);
	rep = sessionmsg_ok();
	ok(!sessionmsg_error_of(rep) && sessionmsg_content_of(rep, &got) < 0, "ok is neither a refusal nor content");
	jv_free(rep);
	static const char *const bad[] = {"{}", "{\"op\":\"rm\"}", "{\"op\":5}", "[\"exec\"]", "\"exec\""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		m = jv_parse(bad[i]);
		ok(sessionmsg_op_of(m) == SESSION_OP_BAD, "session request refused: %s", bad[i]);
		jv_free(m);
	}
}

static void test_request_json(void)
{
	isol8_request in, out;
	isol8_options o = {0};
	isol8_config cfg;
	isol8_err err = {0};
	isol8_config_from_text(&cfg, "{}", 2, "test", &err);
	isol8_request_init(&in);
	in.runtime = xstrdup("python");
	in.code = xstrdup("print('é')\n");
	in.file_ext = xstrdup(".py");
	in.workdir = xstrdup("/sandbox/w");
	in.stdin_data = (unsigned char *)xstrdup("line 1\nline 2");
	in.stdin_len = 13;
	in.has_stdin = true;
	in.timeout_ms = 1234;
	isol8_kv_add(&in.env, &in.nenv, "A", "1");
	isol8_kv_add(&in.env, &in.nenv, "B", "two words");
	unsigned char bin[] = {0, 0xff, 'x', 0x80};
	ok(isol8_request_add_file(&in, "/sandbox/data.bin", bin, sizeof bin, &err) == 0 &&
		   isol8_request_add_file(&in, "/tmp/t.txt", "text", 4, &err) == 0,
	   "two files");
	isol8_strv_add(&in.output_paths, &in.noutput, "/sandbox/out.png");
	isol8_strv_add(&in.install, &in.ninstall, "requests==2.32.3");
	in.setup_script = xstrdup("echo set-up > /sandbox/s\n");
	in.figure_formats = ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG;
	jv doc = jv_object_set(jv_object(), jv_string("request"), isol8_request_json(&in));
	isol8_request_init(&out);
	ok(isol8_request_from_json(doc, &out, &o, &cfg, &err) == 0, "the request JSON reads back (%s)", err.msg);
	ok(!strcmp(out.runtime, "python") && !strcmp(out.code, in.code) && !strcmp(out.file_ext, ".py") &&
		   !strcmp(out.workdir, "/sandbox/w") && out.has_stdin && out.stdin_len == 13 &&
		   !memcmp(out.stdin_data, in.stdin_data, 13) && out.timeout_ms == 1234,
	   "runtime, code, extension, workdir, stdin and timeout round trip");
	ok(out.nenv == 2 && !strcmp(out.env[1].key, "B") && !strcmp(out.env[1].value, "two words"), "env round trips");
	bool files = out.nfiles == 2;
	for (size_t i = 0; files && i < 2; i++) {
		const isol8_file *f = NULL;
		for (size_t k = 0; k < 2; k++)
			if (!strcmp(out.files[k].path, in.files[i].path))
				f = &out.files[k];
		files = f && f->len == in.files[i].len && !memcmp(f->data, in.files[i].data, f->len);
	}
	ok(files, "files round trip, binary content too");
	ok(out.noutput == 1 && !strcmp(out.output_paths[0], "/sandbox/out.png") && out.ninstall == 1 &&
		   !strcmp(out.install[0], "requests==2.32.3"),
	   "outputPaths and installPackages round trip");
	ok(out.setup_script && !strcmp(out.setup_script, in.setup_script), "setupScript round trips");
	ok(out.figure_formats == (ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG), "figureFormats round trips");
	static const char *const bad_formats[] = {"[]", "[\"jpg\"]", "[\"png\",\"png\"]", "\"png\"", "[1]", "{}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_formats); i++) {
		char text[128];
		snprintf(text, sizeof text, "{\"runtime\":\"python\",\"code\":\"1\",\"figureFormats\":%s}", bad_formats[i]);
		isol8_request r;
		isol8_request_init(&r);
		err.msg[0] = 0;
		ok(isol8_request_from_json(jv_parse(text), &r, &o, &cfg, &err) < 0 && strstr(err.msg, "request.figureFormats must be"),
		   "figureFormats %s refused in one line (%s)", bad_formats[i], err.msg);
		isol8_request_free(&r);
	}
	unsigned f = 0;
	ok(figure_formats_parse("svg", &f, &err) == 0 && f == ISOL8_FIGURE_SVG &&
		   figure_formats_parse("png,svg", &f, &err) == 0 && f == (ISOL8_FIGURE_PNG | ISOL8_FIGURE_SVG) &&
		   figure_formats_parse("gif", &f, &err) < 0 && strstr(err.msg, "--figures must be png, svg or png,svg"),
	   "--figures values");
	isol8_request_free(&in);
	isol8_request_free(&out);
	isol8_options_free(&o);
	isol8_config_free(&cfg);
}

static void test_options_json(void)
{
	isol8_config cfg;
	isol8_err err = {0};
	const char *c = "{\"security\":{\"seccomp\":\"unconfined\"}}";
	ok(isol8_config_from_text(&cfg, c, strlen(c), "test", &err) == 0, "a config that allows unconfined");
	isol8_options in = {.network = ISOL8_NET_FILTERED, .memory_limit = 300ull << 20, .cpu_limit = 0.5,
			    .pids_limit = 33, .sandbox_size = 10ull << 20, .tmp_size = 20ull << 20,
			    .max_output = 4096, .timeout_ms = 2500, .writable = true, .persist = true, .debug = true,
			    .seccomp = ISOL8_SECCOMP_UNCONFINED, .log_network = true};
	isol8_kv_add(&in.secrets, &in.nsecrets, "TOKEN", "s3cr3t");
	in.image = xstrdup("/srv/img");
	isol8_strv_add(&in.net_allow, &in.nallow, "^example\\.com$");
	isol8_strv_add(&in.net_deny, &in.ndeny, "^evil\\.");
	isol8_options out;
	ok(isol8_options_from_config(&out, &cfg, &err) == 0, "options from the config");
	ok(options_from_json(options_json(&in), &out, &cfg, &err) == 0, "the options JSON reads back (%s)", err.msg);
	ok(out.network == in.network && out.memory_limit == in.memory_limit && out.cpu_limit == in.cpu_limit &&
		   out.pids_limit == in.pids_limit && out.sandbox_size == in.sandbox_size && out.tmp_size == in.tmp_size &&
		   out.max_output == in.max_output && out.timeout_ms == in.timeout_ms,
	   "network and every limit round trip");
	ok(out.writable && out.persist && out.debug && out.log_network && out.seccomp == ISOL8_SECCOMP_UNCONFINED &&
		   !strcmp(out.image, "/srv/img"),
	   "flags, seccomp mode and image round trip");
	ok(out.nsecrets == 1 && !strcmp(out.secrets[0].value, "s3cr3t") && out.nallow == 1 &&
		   !strcmp(out.net_allow[0], in.net_allow[0]) && out.ndeny == 1 && !strcmp(out.net_deny[0], in.net_deny[0]),
	   "secrets and filter lists round trip");
	static const char *const refused[] = {"{\"audit\":{\"enabled\":true}}", "{\"poolSize\":3}", "{\"remoteCode\":null}",
					      "{\"bogus\":null}", "{\"memoryLimt\":\"1g\"}"};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		err.msg[0] = 0;
		ok(options_from_json(jv_parse(refused[i]), &out, &cfg, &err) < 0 && err.msg[0],
		   "refused, not ignored: %s (%s)", refused[i], err.msg);
	}
	ok(options_from_json(jv_parse("{\"memoryLimit\":null,\"network\":null}"), &out, &cfg, &err) == 0 &&
		   out.memory_limit == in.memory_limit,
	   "a known member set to null is not given");
	isol8_options_free(&in);
	isol8_options_free(&out);
	isol8_config_free(&cfg);
}

/* A 3x2 PNG, as matplotlib or any encoder writes one (signature, IHDR, IDAT, IEND). */
static const unsigned char tiny_png[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
	0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d, 0x00, 0x00, 0x00,
	0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0xc0, 0x04, 0x00, 0x00, 0x14, 0x00, 0x01, 0x7d, 0xfe,
	0x1e, 0xee, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

static void test_result_json(void)
{
	isol8_result in = {.exit_code = 3, .status = "signal", .signal = 9, .truncated = true, .duration_ms = 77,
			   .warm = true, .stats = {.cpu_ns = 12345000, .peak_memory = 5u << 20}};
	buf_puts(&in.out, "out text");
	unsigned char raw[] = {'a', 0xff, 0xfe, 'b'}; /* not UTF-8: travels as base64 */
	buf_append(&in.err, raw, sizeof raw);
	snprintf(in.execution_id, sizeof in.execution_id, "0b1f0a4e-1111-4222-8333-444455556666");
	snprintf(in.runtime, sizeof in.runtime, "node");
	snprintf(in.timestamp, sizeof in.timestamp, "2026-12-02T05:00:00.000Z");
	snprintf(in.sandbox_id, sizeof in.sandbox_id, "0123456789abcdef");
	in.files = xcalloc(1, sizeof *in.files);
	in.nfiles = 1;
	in.files[0].path = xstrdup("/sandbox/out.bin");
	buf_append(&in.files[0].data, raw, sizeof raw);
	in.network_logs = xmalloc(sizeof(jv));
	*in.network_logs = jv_parse("[{\"host\":\"example.com\",\"action\":\"ALLOW\"}]");
	static const char svg[] = "<?xml version=\"1.0\"?>\n<svg width=\"460.8pt\" height=\"345.6pt\"></svg>\n";
	in.outputs = xcalloc(2, sizeof *in.outputs);
	in.noutputs = 2;
	in.outputs[0] = (isol8_output){xstrdup("image/png"), xmalloc(sizeof tiny_png), sizeof tiny_png, 3, 2};
	memcpy(in.outputs[0].data, tiny_png, sizeof tiny_png);
	in.outputs[1] = (isol8_output){xstrdup("image/svg+xml"), (unsigned char *)xstrdup(svg), strlen(svg), 640, 480};
	in.outputs_note = xstrdup("1 figure dropped: over outputs.maxCount (1)");
	isol8_result out;
	isol8_err err = {0};
	ok(isol8_result_from_json(isol8_result_json(&in), &out, &err) == 0, "the result JSON reads back");
	ok(out.exit_code == 3 && !strcmp(out.status, "signal") && out.signal == 9 && out.truncated &&
		   out.duration_ms == 77 && out.warm,
	   "exit code, status, signal, truncation, duration, warm round trip");
	ok(!strcmp(out.execution_id, in.execution_id) && !strcmp(out.runtime, "node") &&
		   !strcmp(out.timestamp, in.timestamp) && !strcmp(out.sandbox_id, in.sandbox_id),
	   "ids, runtime and timestamp round trip");
	ok(out.out.len == 8 && !memcmp(out.out.data, "out text", 8) && out.err.len == sizeof raw &&
		   !memcmp(out.err.data, raw, sizeof raw),
	   "stdout, and stderr that is not UTF-8, round trip");
	ok(out.nfiles == 1 && !strcmp(out.files[0].path, "/sandbox/out.bin") && out.files[0].data.len == sizeof raw &&
		   !memcmp(out.files[0].data.data, raw, sizeof raw),
	   "output files round trip");
	ok(out.stats.cpu_ns == in.stats.cpu_ns && out.stats.peak_memory == in.stats.peak_memory,
	   "resource usage round trips");
	ok(out.network_logs && jv_array_length(jv_copy(*out.network_logs)) == 1, "network logs round trip");
	ok(out.noutputs == 2 && !strcmp(out.outputs[0].type, "image/png") && out.outputs[0].len == sizeof tiny_png &&
		   !memcmp(out.outputs[0].data, tiny_png, sizeof tiny_png) && out.outputs[0].width == 3 &&
		   out.outputs[0].height == 2 && !strcmp(out.outputs[1].type, "image/svg+xml") &&
		   out.outputs[1].len == strlen(svg) && out.outputs[1].width == 640 && out.outputs[1].height == 480,
	   "outputs round trip: types, bytes, sizes, order");
	is_str(out.outputs_note, in.outputs_note, "outputsNote round trips");
	isol8_result_free(&in);
	isol8_result_free(&out);
	isol8_result none = {0};
	jv j = isol8_result_json(&none);
	jv o1 = json_get(j, "outputs"), o2 = json_get(j, "outputsNote");
	ok(!jv_is_valid(o1) && !jv_is_valid(o2), "no outputs: neither member is written");
	jv_free(o1);
	jv_free(o2);
	jv_free(j);
	/* a server's (or anyone's) claims are checked as isol8 checks a sandbox's files */
	static const char *const forged[] = {
		"[{\"type\":\"image/png\",\"data\":\"aGVsbG8=\",\"width\":1,\"height\":1}]",
		"[{\"type\":\"image/gif\",\"data\":\"R0lGODlh\",\"width\":1,\"height\":1}]",
		"[{\"type\":\"image/svg+xml\",\"data\":\"PHN2Zz4=\",\"width\":0,\"height\":1}]",
		"[{\"type\":\"image/png\",\"data\":\"%%%\"}]",
		"[7]",
	};
	for (size_t i = 0; i < ARRAY_SIZE(forged); i++) {
		char text[256];
		snprintf(text, sizeof text, "{\"exitCode\":0,\"outputs\":%s}", forged[i]);
		isol8_result r;
		ok(isol8_result_from_json(jv_parse(text), &r, &err) == 0 && r.noutputs == 0 && r.outputs_note &&
			   strstr(r.outputs_note, "1 output dropped: not a valid PNG or SVG"),
		   "a forged output is dropped with a note: %s", forged[i]);
		isol8_result_free(&r);
	}
	char text[512];
	size_t bl;
	char *b64 = base64_encode(tiny_png, sizeof tiny_png, &bl);
	snprintf(text, sizeof text, "{\"outputs\":[{\"type\":\"image/png\",\"data\":\"%s\",\"width\":9999,\"height\":9}]}", b64);
	free(b64);
	isol8_result r;
	ok(isol8_result_from_json(jv_parse(text), &r, &err) == 0 && r.noutputs == 1 && r.outputs[0].width == 3 &&
		   r.outputs[0].height == 2 && !r.outputs_note,
	   "a PNG's size is read from the PNG, not from the JSON");
	isol8_result_free(&r);
	isol8_result bad;
	ok(isol8_result_from_json(jv_parse("[1]"), &bad, &err) < 0, "a result that is not an object is refused");
}

int main(void)
{
	test_request_json();
	test_options_json();
	test_result_json();
	test_sessionmsg();
	test_netlog();
	test_poolmsg();
	test_zygmsg();
	test_ctl_status();
	test_ctl_refused();
	test_ctl_requests();
	test_feed();
	test_record();
	return done_testing();
}
