"""optsim's desktop window: ``python main.py`` (``--fresh`` ignores saved settings)."""

from optsim.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
