# README's WSGI middleware, served as a WSGI server serves an app:
# argv[1] holds the example's code, as README shows it; argv[2] is a
# folder for outputs. Prints "ok NAME" for each behaviour that holds and
# fails with a traceback on the first that does not.
import logging
import os
import shutil
import sys

import pyprof

code, out = sys.argv[1], sys.argv[2]
example = {}
exec(compile(open(code).read(), code, "exec"), example)
ProfileSomeRequests = example["ProfileSomeRequests"]

logged = []


class Remember(logging.Handler):
    def emit(self, record):
        logged.append(record.getMessage())


logging.getLogger().addHandler(Remember())


class Body:
    """A response iterable with close(), which PEP 3333 says is called
    once the server is done with it."""

    closed = False

    def __iter__(self):
        yield b"hello"

    def close(self):
        self.closed = True


bodies = []


def app(environ, start_response):
    start_response("200 OK", [])
    if environ.get("remove"):
        shutil.rmtree(environ["remove"])
    bodies.append(Body())
    return bodies[-1]


def serve(middleware, environ=None):
    """One request, as a server makes it: iterate, then close."""
    response = middleware(environ or {}, lambda status, headers: None)
    try:
        return b"".join(response)
    finally:
        if hasattr(response, "close"):
            response.close()


def folder(name):
    path = os.path.join(out, name)
    os.mkdir(path)
    return path


def profiled():
    profiles = folder("profiles")
    assert serve(ProfileSomeRequests(app, share=1.0, folder=profiles)) == b"hello"
    assert bodies[-1].closed, "the app's response was not closed"
    names = os.listdir(profiles)
    assert len(names) == 1 and names[0].endswith(".pb.gz"), names
    print("ok profiled")


def another_recording():
    profiles = folder("busy")
    with pyprof.profile(os.path.join(out, "busy.folded")):
        assert serve(ProfileSomeRequests(app, share=1.0, folder=profiles)) == b"hello"
    assert bodies[-1].closed
    assert os.listdir(profiles) == [], os.listdir(profiles)
    print("ok another recording")


def missing_folder():
    missing = os.path.join(out, "missing")
    try:
        serve(ProfileSomeRequests(app, share=1.0, folder=missing))
        raise AssertionError("a request profiled into a missing folder was served as if profiled")
    except pyprof.AlreadyRecording:
        raise
    except pyprof.ProfilerError as e:
        assert missing in str(e), e
    print("ok missing folder")


def write_fails():
    profiles = folder("removed")
    middleware = ProfileSomeRequests(app, share=1.0, folder=profiles)
    assert serve(middleware, {"remove": profiles}) == b"hello"
    assert bodies[-1].closed
    assert any("not written" in m and profiles in m for m in logged), logged
    print("ok write fails")


profiled()
another_recording()
missing_folder()
write_fails()
