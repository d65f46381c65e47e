"""Drawing a simulation, for the window and the exported pictures alike.

- :mod:`~optsim.render.compute`: what to draw, computed without Qt (the landscape
  grid, computed once and reused, its colours and contours, trail thinning, titles);
- :mod:`~optsim.render.theme`: fonts, line widths and colours;
- :mod:`~optsim.render.items`, :mod:`~optsim.render.lines`,
  :mod:`~optsim.render.playback_layer`: the pyqtgraph items;
- :mod:`~optsim.render.plots`: the landscape plot and the loss history;
- :mod:`~optsim.render.figure`: both, with the title, as one picture;
- :mod:`~optsim.render.overlays`: the step arrows, their key and the gradient field;
- :mod:`~optsim.render.qt_app`: the one QApplication (offscreen without a display).

Importing this package imports none of them (only what a caller uses pulls in Qt).
"""
