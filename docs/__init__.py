"""The generated references (`python -m docs.generate` writes them) and the images made for the documentation."""
