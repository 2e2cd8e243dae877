def _isol8_zygote(path, session, sessions_only):
    # A zygote (sandbox/zygote.h): the driver above, in python3 started once on the host, stops
    # in fork() below before it would say ready. isol8-zygote.so's isol8_zygote_serve forks
    # this interpreter into a new sandbox for each one isol8-pool asks for, and returns only in
    # those forks. ctypes is imported for that alone, and leaves sys.modules as it found it,
    # so that a fork starts with the modules python3 -c starts with. session: the session
    # driver's source (drivers.c), compiled here once, for the forks that become a session's
    # interpreter. A zygote of sessions only (sessions_only) also runs the driver's leading
    # import lines here, as the driver run by python3 -c would run them first thing: its forks
    # then share those modules' pages instead of each importing its own.
    import sys
    before = set(sys.modules)
    import ctypes
    serve = ctypes.PyDLL(path).isol8_zygote_serve
    serve.argtypes = (ctypes.c_int,)
    serve.restype = ctypes.c_int
    for name in set(sys.modules) - before:
        del sys.modules[name]
    source, session = session, compile(session, '<string>', 'exec')
    if sessions_only:
        for line in source.splitlines():
            if not line.startswith('import '):
                break
            exec(line, {})
    def fork():
        mode = serve(3)
        if mode == 1:
            import os
            os._exit(0)  # isol8-pool let go of this zygote
        # Now inside the sandbox. A sys.path directory missing on the host (the support files'
        # /.isol8/python) was cached as "no finder" at start-up: forget those, so that it is
        # looked up again here, as python3 started here would.
        cache = sys.path_importer_cache
        for key in [k for k, v in cache.items() if v is None]:
            del cache[key]
        if mode == 2:
            sys.orig_argv[2:] = [source]  # as python3 -c SESSION_DRIVER
            return session
        return None
    return fork
_isol8_warm(fork=_isol8_zygote(ISOL8_ZYGOTE_LIBRARY, ISOL8_SESSION_DRIVER, ISOL8_SESSIONS_ONLY))
