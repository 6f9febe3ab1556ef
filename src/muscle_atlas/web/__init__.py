"""The site core that the atlas site (:mod:`muscle_atlas.site`) and the study site
(:mod:`muscle_atlas.study`) share: the look (:mod:`.theme`: templates, styles, script), typed
page contexts and relative URLs (:mod:`.context`), the search index (:mod:`.search`), number
formatting (:mod:`.format`), SVG plots (:mod:`.svg`) and putting a finished site in place
(:mod:`.publish`). It knows nothing of anatomy, subjects or studies.
"""
