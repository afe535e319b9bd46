"""``python -m smar_ltr``: the same as the ``smar-ltr`` command."""

from smar_ltr.cli.app import main

if __name__ == "__main__":
    main()
