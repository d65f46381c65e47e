"""The Qt user interface: plot views shared with headless export, and the window."""
