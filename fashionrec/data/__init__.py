"""Data: the catalog (`catalog`: synthetic from `synthetic`, or read from a published data set by
`datasets`), its query sets for the benchmarks (`queries`), and image bytes (`images`). See docs/data.md.

Nothing is imported here: the encoder imports `fashionrec.data.images` for every request, and
should not load the data set readers with it.
"""
