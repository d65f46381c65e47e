"""How the pictures look: font sizes, line widths and colours shared by the
window's plots and the exported pictures (no Qt)."""

FONT_PT = 12
LABEL_PT = 13
LINE_PX = 2.5
#: the current position's marker in 2D, in pixels across
MARKER_PX = 17
TEXT_COLOUR = "#202020"
