"""Offscreen turntable renders, animations and 3D models.

``settings`` says how a subject is rendered, ``plan`` what (jobs grouped by scene, styles by
role), ``camera`` where from, ``engine`` draws it with one reused VTK plotter, ``encode`` writes
videos and GIFs, ``model`` writes GLB files, ``surfacemap`` colours surfaces by a quantitative
map; ``cachekeys``, ``schedule`` and ``workers`` serve ``pipeline.run``, which orchestrates them.
VTK is imported only here, so reading, matching and measuring never need a GL context.
"""
