/* outputs.c — isol8 run --outputs DIR: a run's figures as files, DIR/figure-1.png,
 * figure-2.svg, … (n counts the result's outputs from 1, in their order). Threat: DIR is the
 * caller's, but what is in it may not be: a file already there, or a symlink planted by
 * someone else, is never written through (O_EXCL | O_NOFOLLOW); that is an error, one line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/util.h"
#include "run.h"

int outputs_dir_open(const char *dir)
{
	if (mkdir_p(dir, 0755) < 0)
		isol8_die("--outputs %s: cannot create the directory: %s", dir, strerror(errno));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		isol8_die("--outputs %s: not a directory: %s", dir, strerror(errno));
	return dfd;
}

/* One output as DIR/name, created new with mode 0644 whatever the umask. */
static void write_one(int dfd, const char *dir, const char *name, const isol8_output *out)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		isol8_die("--outputs: %s/%s already exists: remove it or choose another directory", dir, name);
	if (fd < 0 || fchmod(fd, 0644) < 0 || write_all(fd, out->data, out->len) < 0 || close(fd) < 0)
		isol8_die("--outputs: cannot write %s/%s: %s", dir, name, strerror(errno));
}

void outputs_write(int dfd, const char *dir, const isol8_result *res)
{
	for (size_t i = 0; i < res->noutputs; i++) {
		char name[64];
		snprintf(name, sizeof name, "figure-%zu.%s", i + 1,
			 !strcmp(res->outputs[i].type, "image/svg+xml") ? "svg" : "png");
		write_one(dfd, dir, name, &res->outputs[i]);
	}
	close(dfd);
}
