"""The ``smar-ltr`` command line (Typer). The only subpackage that imports typer."""
