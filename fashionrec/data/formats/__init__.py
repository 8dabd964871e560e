"""Readers and writers for the published data set formats (Shopping100k/DeepFashion split
files, Polyvore Outfits); see shopping.py and polyvore.py."""

from fashionrec.data.formats.lines import MalformedFile

__all__ = ["MalformedFile"]
