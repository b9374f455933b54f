"""The Textual incident console (`aisre console`). Imported only by that command."""
