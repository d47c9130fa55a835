"""`python -m landscape` and the `landscape` command: the CLI, with Ctrl-C answered from the
first moment (importing the CLI loads torch, about a second)."""

import sys


def run() -> None:
    try:
        from landscape.cli import entry
    except KeyboardInterrupt:  # Ctrl-C while torch is still loading
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
    entry()


# Guarded: processes spawned by the command (the lesson's scenes) import this module again.
if __name__ == "__main__":
    run()
