# isol8's matplotlib backend (MPLBACKEND=module://isol8_mpl in python runs, docs/figures.md): Agg
# rendering, and show() saves every open figure, in the order the figures were created, into
# /tmp/.isol8-outputs (000001.png, 000001-<dpi>.svg, ...) and closes them, as non-interactive
# backends do; figures still open when the program ends are saved by an atexit hook, and a
# session's driver calls flush() after each block. isol8 collects the files after the run.
# This runs in the program's own process: it is a convenience, not a boundary. isol8 trusts
# nothing it writes (docs/figures.md).
import atexit
import itertools
import os
import sys

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase, _Backend
from matplotlib.backends.backend_agg import FigureCanvasAgg

DIR = '/tmp/.isol8-outputs'
_created = itertools.count(1)  # creation order: Gcf reorders figures by activity
_saved = itertools.count(1)    # file numbers, over the whole process (a session's too)


def _formats():
    asked = os.environ.get('ISOL8_FIGURES', 'png').split(',')
    return [f for f in ('png', 'svg') if f in asked] or ['png']


def _save(manager):
    fig = manager.canvas.figure
    n = next(_saved)
    os.makedirs(DIR, mode=0o700, exist_ok=True)
    for fmt in _formats():
        name = '%06d.png' % n if fmt == 'png' else '%06d-%d.svg' % (n, round(fig.dpi))
        tmp = os.path.join(DIR, '.' + name + '.tmp')
        # written under a hidden name, then renamed: isol8 never sees half a file
        fig.savefig(tmp, format=fmt, dpi='figure')
        os.replace(tmp, os.path.join(DIR, name))


def _emit(managers):
    for m in sorted(managers, key=lambda m: getattr(m, '_isol8_order', 0)):
        try:
            _save(m)
        except Exception as e:
            print('isol8: figure %s was not saved: %s' % (m.num, e), file=sys.stderr)
        Gcf.destroy(m)


def flush():
    """Saves and closes every open figure; True when any figure file was saved so far."""
    _emit(Gcf.get_all_fig_managers())
    return os.path.isdir(DIR)


class FigureManagerIsol8(FigureManagerBase):
    def __init__(self, canvas, num):
        super().__init__(canvas, num)
        self._isol8_order = next(_created)

    def show(self):
        # Figure.show(): this figure only
        _emit([self])


class FigureCanvasIsol8(FigureCanvasAgg):
    manager_class = FigureManagerIsol8


@_Backend.export
class _BackendIsol8(_Backend):
    FigureCanvas = FigureCanvasIsol8
    FigureManager = FigureManagerIsol8
    mainloop = None

    @staticmethod
    def show(*args, **kwargs):
        flush()


atexit.register(flush)
