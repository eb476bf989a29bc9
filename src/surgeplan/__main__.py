"""``python -m surgeplan`` runs the command-line interface."""

from surgeplan.cli import main

if __name__ == "__main__":
    main()
