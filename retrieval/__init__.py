"""The band database and the end-to-end query pipeline (steps 4 and 5)."""
