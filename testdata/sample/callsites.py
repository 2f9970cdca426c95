# Every way a Python frame calls another one, each ending in leaf(), which
# sleeps: while it sleeps the stack stands still, so a sampler must return
# it, never drop it as read while it moved. Most calls push the callee
# straight from the caller's instruction (a call, a generator resumed by for
# or yield from or await, a property, __getitem__, __getattribute__,
# __init__); a few go through C (with, map). Every caller is at a marked
# line. argv[1] = "profile" or "trace" runs it all under sys.setprofile or
# sys.settrace, which rewrite the bytecode into instrumented forms.
import sys
import time


def leaf():
    time.sleep(0.004)  # @leaf


def plain():
    leaf()  # @c_plain


def defaults(a=1, b=2):
    leaf()  # @c_defaults


def keywords(*, a):
    leaf()  # @c_keywords


def star(*args):
    leaf()  # @c_star


class Obj:
    def __init__(self, call=False):
        if call:
            leaf()  # @c_init

    def method(self):
        leaf()  # @c_method

    @property
    def prop(self):
        leaf()  # @c_prop

    def __getitem__(self, i):
        leaf()  # @c_getitem


class Attr:
    def __getattribute__(self, name):
        leaf()  # @c_getattribute


class Ctx:
    def __enter__(self):
        leaf()  # @c_enter

    def __exit__(self, *exc):
        pass


def gen():
    leaf()  # @c_gen
    yield 1


def delegate():
    yield from gen()  # @c_delegate


async def inner():
    leaf()  # @c_inner


async def outer():
    await inner()  # @c_await


def through_c(x):
    leaf()  # @c_map


def run_all(obj, attr, args):
    plain()  # @k_plain
    defaults()  # @k_defaults
    keywords(a=1)  # @k_keywords
    star(*args)  # @k_star
    Obj(True)  # @k_init
    obj.method()  # @k_method
    obj.prop  # @k_prop
    obj[0]  # @k_getitem
    attr.x  # @k_getattribute
    with Ctx():  # @k_enter
        pass
    for _ in gen():  # @k_gen
        pass
    for _ in delegate():  # @k_delegate
        pass
    try:
        outer().send(None)  # @k_await
    except StopIteration:
        pass
    list(map(through_c, args))  # @k_map


def tracer(frame, event, arg):
    return tracer


if sys.argv[1:] == ["profile"]:
    sys.setprofile(lambda frame, event, arg: None)
elif sys.argv[1:] == ["trace"]:
    sys.settrace(tracer)
print("ready", flush=True)
while True:
    run_all(Obj(), Attr(), [1])  # @main
