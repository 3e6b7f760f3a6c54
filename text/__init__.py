"""Reading text on merch (OCR) and naming bands from it (fuzzy lookup over the band names)."""
