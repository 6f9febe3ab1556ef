"""Offscreen turntable renders, animations and 3D models.

``scene`` says what is shown and how (styles), ``camera`` where from, ``engine`` draws it with
one reused VTK plotter, ``encode`` writes videos and GIFs, ``model`` writes GLB files. VTK is
imported only here, so reading, matching and measuring never need a GL context.
"""
