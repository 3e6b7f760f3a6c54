"""Metal Archives scraping into the band database and image store."""
