/* isol8-zygote-bash.so — the zygote's half inside bash: a loadable builtin (bash's `enable -f`).
 * isol8-pool starts `bash -c 'enable -f LIB isol8_zygote && isol8_zygote'` on the host with the
 * sandbox's base environment; the builtin serves the pool's requests on fd 3 (zygote_serve) and
 * returns only in each fork's payload: the sandbox user, under seccomp, in /sandbox, with the
 * driver channel on fds 3 and 4. There it is what warm.h calls a warm driver: it says ready on fd
 * 4, reads one run from fd 3 (mode NUL code-or-path NUL KEY=VALUE NUL ...) and hands it to bash's
 * own way of becoming a fresh shell without an execve — the one bash takes to run a script that
 * has no #! line (execute_cmd.c, shell_execve): reset the parser, subshell state, flags and
 * options, then longjmp to main()'s subshell_top_level with a new argv and environment. main()
 * then reinitialises ("as if we had been exec'ed": every variable, function, trap and option
 * deleted and set up again from the environment) and runs the code exactly as `bash -c CODE` or
 * `bash FILE` started there would. What a fresh exec would also have reset and that path leaves
 * alone is reset here first: the user (bash computed UID, EUID and the rest as root, before
 * main()'s jump target), signal dispositions, libc's environ, and this builtin itself.
 *
 * Bash's symbols come from the bash that loads this library (it exports them for loadable
 * builtins); the headers are Debian's bash-builtins. Built without sanitizers, like
 * isol8-zygote.so. Threats: as for every zygote (sandbox/zygote.h) — the request socket is the
 * pool's alone, and the run's code and environment reach only the fork, on its own pipe, after
 * it has dropped every privilege. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sigdefault.h"
#include "core/util.h"
#include "run/command.h"
#include "sandbox/zygote.h"

/* bash's own headers, as Debian's bash-builtins installs them (-isystem: not our warnings) */
#include "builtins.h"
#include "shell.h"
#include "bashjmp.h"
#include "jobs.h"
#include "execute_cmd.h"
#include "common.h"
#include "version.h"

/* What bash keeps that its installed headers do not declare (trap.c, flags.c, bashhist.c). */
extern int running_trap, history_lines_this_session;
extern char **environ;
extern void restore_original_signals(void);
extern void reset_shell_flags(void);
extern const char *const sccs_version;

/* The message's fields (len counts a NUL added after it: its last field has none of its own) as argv {"bash", "-c", CODE} or {"bash", FILE} and the environment,
 * allocated as bash frees them (xmalloc); false when it is not one (then nothing runs). */
static bool parse_run(char *b, size_t len, char ***argv, char ***envp)
{
	if (len < 2 || (b[0] != 'c' && b[0] != 'f') || b[1] != 0 || b[len - 1] != 0)
		return false;
	size_t nf = 0;
	for (size_t i = 0; i < len; i++)
		nf += b[i] == 0;
	if (nf < 2)
		return false;
	char **env = xmalloc((nf - 1) * sizeof *env), **av = xmalloc(4 * sizeof *av);
	size_t ne = 0;
	const char *body = b + 2;
	for (const char *p = body + strlen(body) + 1; p < b + len; p += strlen(p) + 1)
		if (*p)
			env[ne++] = savestring(p);
	env[ne] = NULL;
	int a = 0;
	av[a++] = savestring("bash");
	if (b[0] == 'c')
		av[a++] = savestring("-c");
	av[a++] = savestring(body);
	av[a] = NULL;
	*argv = av;
	*envp = env;
	return true;
}

/* Takes this builtin out of bash's table, as `enable -d` would, so that `enable -a`, `type`
 * and `compgen -b` list what a fresh bash lists. (Its pages stay mapped: /proc/self/maps names
 * the library, as it names isol8-zygote.so in a python fork.) */
static void forget_builtin(sh_builtin_func_t *self)
{
	for (int i = 0; i < num_shell_builtins; i++)
		if (shell_builtins[i].function == self) {
			memmove(&shell_builtins[i], &shell_builtins[i + 1],
				(size_t)(num_shell_builtins - i) * sizeof shell_builtins[0]);
			num_shell_builtins--;
			return;
		}
}

/* What execve would have given: the sandbox user's ids (bash read them as root before main()'s
 * jump target), default dispositions and an empty mask (the zygote's, caught or ignored, stay
 * across fork: bash's own handlers, and whatever the pool's parent ignored), and libc's environ (bash's own getenv reads its
 * variables, libc's internal lookups read environ). And what bash caches once and main() does
 * not look up again: the host name (the host's, in the zygote) and the working directory ("/"). */
static void as_if_exec(char **envp)
{
	if (current_host_name && strcmp(current_host_name, "??host??")) /* that one is bash's literal */
		free(current_host_name);
	current_host_name = NULL;
	free(the_current_working_directory);
	the_current_working_directory = NULL;
	current_user.uid = getuid();
	current_user.euid = geteuid();
	current_user.gid = getgid();
	current_user.egid = getegid();
	free(current_user.user_name);
	free(current_user.shell);
	free(current_user.home_dir);
	current_user.user_name = current_user.shell = current_user.home_dir = NULL;
	restore_original_signals();
	signals_default();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	environ = envp;
}

/* shell_execve's path for a script without #!, from "reset_parser" to the longjmp, with the
 * static initialize_subshell spelled out (execute_cmd.c). Does not return. */
static void become_fresh_shell(char **argv, char **envp)
{
	reset_parser();
	delete_all_aliases();
	history_lines_this_session = 0;
	without_job_control();
	set_sigchld_handler();
	init_job_stats();
	reset_shell_flags();
	reset_shell_options();
	reset_shopt_options();
	if (vc_isbltnenv(shell_variables))
		shell_variables = shell_variables->down;
	clear_unwind_protect_list(0);
	parse_and_execute_level = 0;
	variable_context = return_catch_flag = funcnest = evalnest = sourcenest = 0;
	executing_list = 0;
	unset_bash_input(0);
	executing_builtin = running_trap = 0;
	/* What the unwind frame of the zygote's own `bash -c` (parse_and_execute's prologue,
	 * evalstring.c) would have restored, and clear_unwind_protect_list dropped: set -x would
	 * print "++" (the PS4 repeat is indirection_level), and $BASH_COMMAND would go back to
	 * "isol8_zygote" once the run's -c ends, in its EXIT trap. The rest is what that frame saves. */
	indirection_level = line_number_for_err_trap = loop_level = comsub_ignore_return = 0;
	breaking = continuing = 0;
	free(the_printed_command_except_trap);
	the_printed_command_except_trap = NULL;
	as_if_exec(envp);
	fflush(NULL); /* nothing of the zygote's may reach the run's stdio */
	subshell_argc = 0;
	while (argv[subshell_argc])
		subshell_argc++;
	subshell_argv = argv;
	subshell_envp = envp;
	unbind_args();
	clear_fifo_list();
	siglongjmp(subshell_top_level, 1);
}

static int isol8_zygote_builtin(WORD_LIST *list)
{
	if (list) {
		builtin_usage();
		return EX_USAGE;
	}
	/* what it touches of bash's (the layout of current_user, the builtin table, what main()
	 * resets) is that of the headers it was built with: refused by any other bash build */
	if (strcmp(sccs_version, SCCSVERSION)) {
		builtin_error("built for \"%s\", loaded by \"%s\": rebuild isol8 (make)", SCCSVERSION + 4, sccs_version + 4);
		return EXECUTION_FAILURE;
	}
	const zygote_hooks h = {NULL, NULL, NULL, command_sandbox_support};
	int mode = zygote_serve(3, &h);
	if (mode != 0)
		_exit(mode == 1 ? 0 : 1); /* let go by isol8-pool; bash has no session forks */
	/* the payload: a warm driver from here on */
	if (write(4, "R", 1) != 1)
		_exit(0);
	/* the whole run, up to its EOF (the holder closes its end after one message); as much as
	 * execve could take, and more is no run */
	isol8_buf run = {0};
	isol8_err err = {0};
	char **argv = NULL, **envp = NULL;
	int rc = read_fd_all(3, 64u << 20, &run, &err);
	close(3);
	close(4);
	buf_append(&run, "", 1);
	if (rc < 0 || !parse_run((char *)run.data, run.len, &argv, &envp))
		_exit(0); /* the holder let go without a run */
	isol8_buf_free(&run);
	forget_builtin(isol8_zygote_builtin);
	become_fresh_shell(argv, envp);
	return EXECUTION_FAILURE;
}

static char *isol8_zygote_doc[] = {"isol8-pool's bash zygote: serves the pool on fd 3 (isol8-zygote(7)).", NULL};

__attribute__((visibility("default"))) struct builtin isol8_zygote_struct = {
	"isol8_zygote", isol8_zygote_builtin, BUILTIN_ENABLED, isol8_zygote_doc, "isol8_zygote", 0,
};
