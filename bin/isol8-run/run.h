/* run.h — isol8-run's command line as a function, so the `isol8` dispatcher can run it
 * in-process: `isol8 run` is on every agent's hot path, and an extra exec costs ~2 ms. */
#ifndef ISOL8_RUN_H
#define ISOL8_RUN_H

int isol8_run_main(int argc, char **argv);

#endif
