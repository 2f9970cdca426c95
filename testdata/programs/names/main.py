"""Two packages with a module of the same name, each defining helper(), and
a package whose work is in its __init__.py: every function must keep its
own name (alpha.utils.helper, beta.utils.helper, app.setup, __main__.main)
in every mode. Runs for argv[1] seconds (0.6 by default); with --forever it
says "ready" and runs until killed, for the sampler's tests."""

import sys
import time

import alpha.utils
import app
import beta.utils


def main(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        alpha.utils.helper()
        beta.utils.helper()
    # Last, so that a sampler that attached late still sees it.
    app.setup()


if __name__ == "__main__":
    if sys.argv[1:] == ["--forever"]:
        print("ready", flush=True)
        main(float("inf"))
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.6)
