"""Ctrl-C during a run: the first stops it, a double tap never breaks off what follows."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import signal, time
    from hpsearch.execution import signals

    signals.INTERRUPT_GRACE = 0.5
    seen = []
    try:
        with signals.first_ctrl_c_stops():
            try:
                signal.raise_signal(signal.SIGINT)      # the Ctrl-C that stops the run
            except KeyboardInterrupt:
                seen.append("stopped")
                signal.raise_signal(signal.SIGINT)      # a second one while it stops
                seen.append("second dropped")
                raise
    except KeyboardInterrupt:
        seen.append("reported")
    signal.raise_signal(signal.SIGINT)                  # a double tap, just after the run
    seen.append("tap dropped")
    time.sleep(0.6)
    try:
        signal.raise_signal(signal.SIGINT)              # later: Python's own Ctrl-C again
    except KeyboardInterrupt:
        seen.append("later one raises")
    with signals.first_ctrl_c_stops():                  # the next run stops on its first too
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            seen.append("next run stopped")
    print(",".join(seen))
""")


def test_a_double_ctrl_c_stops_the_run_once_and_later_ones_count_again():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(",") == [
        "stopped", "second dropped", "reported", "tap dropped", "later one raises",
        "next run stopped"]


def test_a_callers_own_ctrl_c_handler_is_left_alone():
    script = textwrap.dedent("""
        import signal
        from hpsearch.execution import signals

        def mine(signum, frame):
            print("mine")

        signal.signal(signal.SIGINT, mine)
        with signals.first_ctrl_c_stops():
            signal.raise_signal(signal.SIGINT)
        print(signal.getsignal(signal.SIGINT) is mine)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["mine", "True"], done.stderr
