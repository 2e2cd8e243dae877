/* isol8-run — run one piece of untrusted code in a fresh sandbox (see run.c, isol8-run(1)). */
#include "run.h"

int main(int argc, char **argv)
{
	return isol8_run_main(argc, argv);
}
