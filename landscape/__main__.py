import sys

try:
    from landscape.cli import entry
except KeyboardInterrupt:  # Ctrl-C while torch is still loading
    print("Interrupted.", file=sys.stderr)
    sys.exit(130)

entry()
