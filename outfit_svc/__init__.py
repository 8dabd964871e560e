"""OutfitService: outfit completion and scoring. Never imports torch."""
