/* isol8-zygote.so — the zygote's half inside python3 (sandbox/zygote.h). isol8-pool starts
 * python3 with the warm driver and lib/run/drivers/zygote_python.py, which loads this library
 * with ctypes.PyDLL (the GIL stays held) and calls isol8_zygote_serve once, on the socket the pool
 * gave it as fd 3. The only symbol it exports. Built without sanitizers: python3 does not load
 * their runtimes first. */
#include "run/command.h"
#include "sandbox/zygote.h"

/* CPython's own fork protocol (what os.fork does around fork(2)), from the python3 that loaded
 * us: its import lock and after-fork hooks (random reseeds in each fork, for one). */
void PyOS_BeforeFork(void);
void PyOS_AfterFork_Parent(void);
void PyOS_AfterFork_Child(void);

__attribute__((visibility("default"))) int isol8_zygote_serve(int sock);

int isol8_zygote_serve(int sock)
{
	/* the support files the pool's slots get (figures), loaded once as the pool loads them */
	const zygote_hooks h = {PyOS_BeforeFork, PyOS_AfterFork_Parent, PyOS_AfterFork_Child, command_sandbox_support};
	return zygote_serve(sock, &h);
}
