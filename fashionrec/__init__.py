"""fashionrec: attribute-aware fashion retrieval and outfit completion."""

__version__ = "0.1.0"
