/* cli.h — for main() only: library functions return errors; a command-line front end ends
 * with one "[ERR] …" line on stderr and exit status 1. */
#ifndef ISOL8_CLI_H
#define ISOL8_CLI_H

__attribute__((noreturn, format(printf, 1, 2))) void isol8_die(const char *fmt, ...);

#endif
