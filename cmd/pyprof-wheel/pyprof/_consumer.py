"""The pyprof process beside the program.

Started on the first profile, it records regions into rings that the
agent loaded in this process writes (trace mode), or samples this process
from outside (sample mode), and writes the profiles. It runs the pyprof
executable's `_consume` command, which detaches a copy of itself that no
process waits for: the agent tells that pyprof lives from its pid, which
an unreaped child of ours would keep after dying. Requests go over a
SOCK_SEQPACKET socket pair, one JSON object a message; the copy ends when
this process closes its end (exits).
"""

import errno
import json
import os
import socket
import subprocess
import sys
import sysconfig
import threading

from ._binary import MissingBinary, installed
from ._errors import ProfilerError

_MAX_REPLY = 1 << 16


def package_files():
    """This package's source files, whose frames profiles leave out."""
    here = os.path.dirname(os.path.abspath(__file__))
    return {os.path.join(here, name) for name in os.listdir(here) if name.endswith(".py")}


class ConsumerGone(ProfilerError):
    def __init__(self, pid):
        self.pid = pid
        super().__init__(f"pyprof's process (pid {pid}) has ended")


class ConsumerSilent(ProfilerError):
    def __init__(self, pid):
        self.pid = pid
        super().__init__(
            f"pyprof's process (pid {pid}) has not answered for {ANSWER_TIMEOUT:g} s (it is stopped, or hung): "
            f"this program runs on untraced, and pyprof gives that process up"
        )


# How long pyprof's process may stay silent: it says every second that
# an answer that takes long (writing a large profile) is coming.
ANSWER_TIMEOUT = 5.0


class Consumer:
    def __init__(self):
        try:
            path, installed_version = installed()
        except MissingBinary as e:
            raise ProfilerError(str(e)) from None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            _spawn(path, theirs.fileno())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.settimeout(ANSWER_TIMEOUT)
        self._sock = ours
        self._lock = threading.Lock()
        self._seq = 0
        self.pid = None
        self.dead = False
        # gave_up: the agent stopped recording in this region, pyprof's
        # process silent (see _orphaned).
        self.gave_up = False
        self.agent = self.bootstrap = None
        # The agent's and the bootstrap's files, once loaded: pyprof's too.
        self.agent_files = set()
        self.on_orphan = None
        # The bootstrap's handler of thread starts during a trace region.
        self.thread_starting = None
        answer = self.request(
            {
                "op": "hello",
                "pid": os.getpid(),
                "python": "%d.%d.%d" % sys.version_info[:3],
                "executable": sys.executable or "",
                "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            }
        )
        self.pid, self.version = answer["pid"], answer["version"]
        if self.version != installed_version:
            # The package speaks to its own executable only.
            self.forget()
            raise ProfilerError(
                f"the pyprof executable {path} is version {self.version}, this pyprof package {installed_version}: "
                f"they come from different installs; install pyprof again so that they are one"
            )

    def request(self, message, fds=False):
        """Sends one request and returns the answer (and the descriptors
        attached to it when fds). An answer left unread by an interrupted
        request (Ctrl-C) is skipped by its number."""
        with self._lock:
            if self.dead:
                raise ConsumerGone(self.pid)
            self._seq += 1
            message["seq"] = self._seq
            data = json.dumps(message).encode()
            try:
                self._sock.send(data)
            except OSError as e:
                if e.errno == errno.EMSGSIZE:
                    raise ProfilerError(f"a request of {len(data)} bytes is too large for pyprof's socket") from None
                data = b""
            try:
                while data:
                    if fds:
                        data, received, _, _ = socket.recv_fds(self._sock, _MAX_REPLY, 1)
                    else:
                        data, received = self._sock.recv(_MAX_REPLY), []
                    if not data:
                        break
                    answer = json.loads(data)
                    if answer.get("seq") == self._seq and not answer.get("pending"):
                        break
                    for fd in received:
                        os.close(fd)
            except TimeoutError:
                self.dead = True
                self._sock.close()
                raise ConsumerSilent(self.pid) from None
            except OSError:
                data = b""
            if not data:
                self.dead = True
                raise ConsumerGone(self.pid)
        if not answer.get("ok"):
            for fd in received:
                os.close(fd)
            e = ProfilerError(answer.get("error") or "pyprof failed")
            # What the failed request did all the same (a stop that could
            # not write recorded the region).
            e._answer = answer
            raise e
        return (answer, received) if fds else answer

    def load_agent(self):
        """Loads the agent into this process, once, mapping the rings the
        consumer made; returns it with the bootstrap module, whose code
        claims and releases the tool id as `pyprof record` does."""
        if self.agent is None:
            answer, fds = self.request({"op": "agent"}, fds=True)
            try:
                if not fds:
                    raise ProfilerError("pyprof's process sent no shared memory")
                boot = _load_source("_pyprof_bootstrap", answer["bootstrap"])
                agent = boot._load_agent(answer["agent"])
                agent.init(fds[0], {answer["bootstrap"], answer["agent"], *package_files()})
                # Threads started from now on are watched, to be named.
                sys.addaudithook(self._audit)
            except ProfilerError:
                raise
            except Exception as e:
                if "already initialised" in str(e):
                    # Only pyprof record loads the agent besides this package.
                    raise ProfilerError(
                        "this process is recorded by `pyprof record` already, and its whole run is in that profile: "
                        "run the program without `pyprof record` to profile a region of it"
                    ) from None
                raise ProfilerError(f"pyprof cannot load its agent here: {type(e).__name__}: {e}") from e
            finally:
                for fd in fds:
                    os.close(fd)
            agent.on_orphan(self._orphaned)
            self.agent, self.bootstrap = agent, boot
            self.agent_files = {answer["bootstrap"], answer["agent"]}
        return self.agent, self.bootstrap

    def _audit(self, event, args):
        # An audit hook: it lives as long as the process, and passes thread
        # starts to the region recording now, if any. Raising would fail
        # the program's own call.
        handler = self.thread_starting
        if handler is not None and event in self.bootstrap._THREAD_START_EVENTS:
            try:
                handler(args)
            except Exception:
                pass

    def _orphaned(self):
        # Called by the agent, in the main thread, when it stopped recording:
        # pyprof's process is gone, or lives but left a full ring undrained
        # for 5 s (stopped, or starved of CPU). The program goes on
        # untraced; a process that lives may still answer stop(), with the
        # region recorded up to there.
        try:
            os.kill(self.pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except OSError:
            alive = True
        if alive:
            self.gave_up = True
        else:
            self.dead = True
        if self.on_orphan:
            self.on_orphan()

    def forget(self):
        """In a forked child: the socket is the parent's; close our copy."""
        self.dead = True
        self._lock = threading.Lock()
        self._sock.close()


def _spawn(path, fd):
    # Neither this program's stderr nor its working folder: pyprof's
    # process outlives requests, and would hold them. It exits once its
    # detached copy runs; what it says on failing is passed on.
    proc = subprocess.Popen(
        [path, "_consume", "--fd", str(fd)],
        pass_fds=(fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
        start_new_session=True,
    )
    try:
        _, said = proc.communicate(timeout=ANSWER_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise ProfilerError(f"pyprof's process did not start within {ANSWER_TIMEOUT:g} s ({path})") from None
    if proc.returncode != 0:
        said = said.decode(errors="replace").strip().replace("\n", "; ") or "nothing"
        raise ProfilerError(f"pyprof's process could not start ({path} exited with status {proc.returncode}): {said}")


def _load_source(name, path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
