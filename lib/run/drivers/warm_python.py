def _isol8_warm(pristine=dict(globals()), fork=None):
    # Everything lives in this function: the code gets a __main__ with exactly the globals
    # python3 -c starts with, and nothing is imported that python3 -c would not have imported.
    import os, sys
    # Touch the compiler and the evaluation loop now: their pages are cold in a fresh interpreter
    # and cost ~2 ms on first use (measured), which would otherwise fall on the run.
    exec(compile('def f(a, *b, **c):\n    for i in range(2):\n        a = [x for x in b] or {k: v for k, v in c.items()}\n    return f"{a!r}"\nclass C:\n    pass\nf(1, 2, k=3)\n', '<warm>', 'exec'), {})
    # Everything that exists now (python3's start-up state) goes to the GC's permanent
    # generation: the collections of interpreter shutdown then walk only what the run created,
    # instead of ~50k objects gone cold in the CPU caches while the pool held this process
    # (measured: shutdown 1.5 ms shorter). What a program can notice: gc.get_objects() does not
    # list start-up objects, and an object it hangs on a start-up module (os.x = obj) is torn
    # down later in shutdown than under python3 -c. 'gc' leaves sys.modules as it came.
    had_gc = 'gc' in sys.modules
    import gc
    gc.freeze()
    if not had_gc:
        del sys.modules['gc']
    del gc, had_gc
    # The end of shutdown, skipped: after the program (threads joined, atexit run, its modules
    # torn down with their __del__ calls and the streams flushed), CPython still frees the whole
    # interpreter before it exits (~1 ms, measured). Python code's last chance to run comes when
    # the interpreter state is cleared, which drops the codec search functions: one of them
    # holds an object whose __del__ then _exits with the program's exit code (status[0]), as
    # worked out below, or does nothing when that is None: a case this driver cannot vouch for
    # (an int subclass given to sys.exit; std streams the program replaced, whose flush at exit
    # could fail and make it 120).
    status = [None]
    class _End:
        def __del__(self, _exit=os._exit, status=status):
            if status[0] is not None:
                _exit(status[0])
    def vouch(code):
        status[0] = code if sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__ else None
    import codecs
    codecs.register(lambda name, end=_End(): None)
    del codecs, _End
    # In a zygote (zygote_python.py), fork returns in a fork of this process that is already
    # inside its own sandbox, as the sandbox user under the seccomp filter, with fds 3 and 4;
    # for a session's interpreter, with the session driver, which then runs as python3 -c would
    # run it (it says ready with its pid: the session matches the init's exit statuses by it).
    if fork is not None:
        session = fork()
        if session is not None:
            main = type(sys)('__main__')
            main.__dict__.update(pristine)
            sys.modules['__main__'] = main
            os.write(4, b'R%d\n' % os.getpid())
            del main, fork
            exec(session, sys.modules['__main__'].__dict__)
            return
    os.write(4, b'R')
    parts = []
    while True:
        b = os.read(3, 65536)
        if not b:
            break
        parts.append(b)
    os.close(3)
    os.close(4)
    # mode NUL code-or-path NUL KEY=VALUE NUL ...
    f = b''.join(parts).split(b'\0')
    if len(f) < 2 or f[0] not in (b'c', b'f'):
        os._exit(0)
    os.environ.clear()
    for kv in f[2:]:
        if kv:
            k, _, v = kv.partition(b'=')
            os.environb[k] = v
    # A new __main__ module, not the frozen one this driver ran in: what the program hangs on it
    # is then torn down at the same point of shutdown as under python3 -c (a frozen module
    # would outlive the collections and be cleared after sys.stdout is gone).
    main = type(sys)('__main__')
    g = main.__dict__
    g.update(pristine)
    sys.modules['__main__'] = main
    body = f[1].decode('utf-8', 'surrogateescape')
    me = sys._getframe().f_code
    try:
        if f[0] == b'c':
            sys.orig_argv[2:] = [body]
            code = compile(body, '<string>', 'exec')
        else:
            sys.argv[:] = [body]
            sys.orig_argv[1:] = [body]
            sys.path[0] = body.rpartition('/')[0] or '/'
            g['__file__'] = body
            g['__cached__'] = None
            g['__loader__'] = sys.modules['_frozen_importlib_external'].SourceFileLoader('__main__', body)
            with open(body, 'rb') as src:
                code = compile(src.read(), body, 'exec')
        del f, parts, body
        exec(code, g)
        vouch(0)
    except SystemExit as e:
        # what CPython's exit does with e.code: None is 0, an int its low byte (a C long, -1 if
        # too big), anything else is printed and 1; an int subclass is left to CPython
        c = e.code
        if c is None:
            vouch(0)
        elif type(c) in (int, bool):
            vouch((c if -2**63 <= c < 2**63 else -1) & 255)
        elif not isinstance(c, int):
            vouch(1)
        raise
    except BaseException as e:
        # as python3 would report it: without this function's frame
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code is me:
            tb = tb.tb_next
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        if isinstance(e, KeyboardInterrupt):
            import signal
            for s in (sys.stdout, sys.stderr):
                s.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        vouch(1)
        raise SystemExit(1)
_isol8_warm()
