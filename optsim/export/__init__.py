"""The exporters: pictures (:mod:`optsim.export.image`: PNG and SVG), animations
(:mod:`optsim.export.animation`: GIF and MP4) and data (:mod:`optsim.export.data`:
CSV), all drawn by :mod:`optsim.render` and written through :mod:`optsim.files`.

Importing this package imports none of them (the pictures need Qt)."""
