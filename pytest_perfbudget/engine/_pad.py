"""``pad(k, f, *args)``: ``f(*args)`` called ``k`` frames deeper, each frame holding
120 locals (about 1 KiB of CPython's frame stack), for the runner's samples from
several call-stack depths.

Written out in a module of its own, not compiled from a string: code that walks up
the stack (``inspect.stack()``, a logger finding its caller) looks up the module of
each frame by its file, and for a frame of code without one ``inspect.getmodule``
goes through every module loaded at each call (structlog's callsite tests took 13
ms a call instead of 4).
"""

from __future__ import annotations

from collections.abc import Callable


def pad(k: int, f: Callable[..., object], *args: object) -> object:
    _0 = _1 = _2 = _3 = _4 = _5 = _6 = _7 = _8 = _9 = _10 = _11 = None
    _12 = _13 = _14 = _15 = _16 = _17 = _18 = _19 = _20 = _21 = _22 = _23 = None
    _24 = _25 = _26 = _27 = _28 = _29 = _30 = _31 = _32 = _33 = _34 = _35 = None
    _36 = _37 = _38 = _39 = _40 = _41 = _42 = _43 = _44 = _45 = _46 = _47 = None
    _48 = _49 = _50 = _51 = _52 = _53 = _54 = _55 = _56 = _57 = _58 = _59 = None
    _60 = _61 = _62 = _63 = _64 = _65 = _66 = _67 = _68 = _69 = _70 = _71 = None
    _72 = _73 = _74 = _75 = _76 = _77 = _78 = _79 = _80 = _81 = _82 = _83 = None
    _84 = _85 = _86 = _87 = _88 = _89 = _90 = _91 = _92 = _93 = _94 = _95 = None
    _96 = _97 = _98 = _99 = _100 = _101 = _102 = _103 = _104 = _105 = _106 = _107 = None
    _108 = _109 = _110 = _111 = _112 = _113 = _114 = _115 = _116 = _117 = _118 = _119 = None
    return pad(k - 1, f, *args) if k else f(*args)
