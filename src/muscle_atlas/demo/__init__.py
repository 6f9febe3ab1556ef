"""The embedded demo: real anatomy shipped with the package (``data/``), the Visible Human Female
lower limbs (CC BY 4.0) and a Z-Anatomy right upper limb (CC BY-SA 4.0), decimated; built by
``muscle-atlas demo`` (:mod:`muscle_atlas.commands.demo`)."""
