"""``python -m ganedit.cli`` runs the CLI (same as ``python -m ganedit``)."""

from ganedit.cli import main

if __name__ == "__main__":
    main()
