/* handover.c — native sandboxes handed between processes: isol8-pool prepares them and passes
 * their fds (SCM_RIGHTS) to the run that takes one, then sweeps up after it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/backend.h"
#include "sandbox/internal.h"
#include "state/record.h"
#include "state/rundir.h"

void sandbox_handover_fds(const isol8_sandbox *sb, int fds[ISOL8_HANDOVER_FDS])
{
	fds[0] = sb->pidfd;
	fds[1] = sb->ctl;
	fds[2] = sb->feed;
	fds[3] = sb->stdin_w;
	fds[4] = sb->stdout_r;
	fds[5] = sb->stderr_r;
}

int sandbox_adopt(isol8_sandbox *sb, const char *id, pid_t pid, const int fds[ISOL8_HANDOVER_FDS], isol8_err *err)
{
	memset(sb, 0, sizeof *sb);
	sb->be = &isol8_native_backend;
	sb->proxy_fd = sb->chan = sb->reply = sb->layer_lock = -1;
	if (!record_id_valid(id))
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "bad sandbox id from the pool");
	memcpy(sb->id, id, 17);
	sb->pid = pid;
	sb->pidfd = fds[0];
	sb->ctl = fds[1];
	sb->feed = fds[2];
	sb->stdin_w = fds[3];
	sb->stdout_r = fds[4];
	sb->stderr_r = fds[5];
	sb->adopted = true;
	if (cgroup_open(&sb->cg, id) < 0)
		return isol8_fail(err, ISOL8_E_SANDBOX, 0, "no cgroup for sandbox %s", id);
	return 0;
}

void sandbox_own(isol8_sandbox *sb)
{
	sb->adopted = false;
	sb->forked_init = true; /* not our child: its pidfd says when it has exited */
	free(sb->record);
	sb->record = rundir_sandbox_record(isol8_run_dir(), sb->id);
}

void sandbox_hand_record_to(isol8_sandbox *sb, pid_t supervisor)
{
	sandbox_write_record(sb, isol8_run_dir(), supervisor);
}

void sandbox_release(isol8_sandbox *sb, isol8_handed *h)
{
	int *fds[] = {&sb->ctl, &sb->feed, &sb->chan, &sb->reply, &sb->stdin_w, &sb->stdout_r, &sb->stderr_r, &sb->proxy_fd,
		      &sb->layer_lock};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		close_fd(fds[i]);
	isol8_buf_free(&sb->ctl_in);
	isol8_buf_free(&sb->status_q);
	*h = (isol8_handed){sb->pidfd, sb->cg, sb->record};
	sb->pidfd = -1;
	sb->record = NULL;
	memset(&sb->cg, 0, sizeof sb->cg);
}

void sandbox_handed_sweep(isol8_handed *h)
{
	cgroup_kill_all(&h->cg);
	cgroup_destroy(&h->cg);
	if (h->record)
		unlink(h->record);
	sandbox_handed_forget(h);
}

void sandbox_handed_forget(isol8_handed *h)
{
	cgroup_forget(&h->cg);
	free(h->record);
	h->record = NULL;
	close_fd(&h->pidfd);
}
