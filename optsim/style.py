"""Colours and sizes shared by the window and the exported pictures (no Qt here)."""

#: Okabe & Ito's colour-blind-safe palette, in the order runs receive colours
#: (black, listed last, is kept for a seventh run; yellow is avoided on white).
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#0072B2",  # blue
    "#CC79A7",  # reddish purple
    "#000000",  # black
    "#F0E442",  # yellow
)


def run_colour(index: int) -> str:
    """The palette colour for the ``index``-th run."""
    return OKABE_ITO[index % len(OKABE_ITO)]
