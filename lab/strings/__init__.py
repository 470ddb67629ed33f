"""Per-page parts of the translation table (merged into lab.i18n.STRINGS)."""
