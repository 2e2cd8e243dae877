/* login.h — isol8 login / logout (login.c). argv[0] is the command's name. */
#ifndef ISOL8_LOGIN_H
#define ISOL8_LOGIN_H

int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);

#endif
