import io, json, linecache, os, sys, traceback
_rq = os.fdopen(3, 'rb')
_rp = os.fdopen(4, 'wb', buffering=0)
_g = {'__name__': '__main__', '__builtins__': __builtins__}
_n = 0
for _line in _rq:
    _req = json.loads(_line)
    _n += 1
    _name = '<exec %d>' % _n
    _code = _req['code']
    linecache.cache[_name] = (len(_code), None, _code.splitlines(True), _name)
    os.environ.update(_req.get('env') or {})
    sys.stdin = io.StringIO(_req.get('stdin') or '')
    _rc = 0
    try:
        exec(compile(_code, _name, 'exec'), _g)
    except SystemExit as _e:
        _c = _e.code
        if _c is None:
            _rc = 0
        elif isinstance(_c, int):
            _rc = _c & 0xff
        else:
            print(_c, file=sys.stderr)
            _rc = 1
    except BaseException as _e:
        traceback.print_exception(type(_e), _e, _e.__traceback__.tb_next)
        _rc = 1
    # the figures still open are this block's (isol8's matplotlib backend, if it was loaded);
    # "outputs" tells isol8 to collect them: without it, it spends nothing looking
    _reply = {'exit': _rc}
    _mpl = sys.modules.get('isol8_mpl')
    if _mpl is not None:
        try:
            _reply['outputs'] = bool(_mpl.flush())
        except BaseException:
            _reply['outputs'] = True
    for _f in (sys.stdout, sys.stderr):
        try:
            _f.flush()
        except Exception:
            pass
    _rp.write((json.dumps(_reply) + '\n').encode())
