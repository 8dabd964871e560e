"""RetrievalService: attribute manipulation and conditional similarity. Never imports torch."""
