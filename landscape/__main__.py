import sys

# Guarded: processes spawned by the command (the lesson's scenes) import this module again.
if __name__ == "__main__":
    try:
        from landscape.cli import entry
    except KeyboardInterrupt:  # Ctrl-C while torch is still loading
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)

    entry()
