"""``python -m ganedit`` runs the CLI."""

from ganedit.cli import main

if __name__ == "__main__":
    main()
