"""The embedded demo: real anatomy shipped with the package (``data/``), the Z-Anatomy whole-body
muscles and skeleton (CC BY-SA 4.0), decimated; built by ``muscle-atlas demo``
(:mod:`muscle_atlas.commands.demo`)."""
