"""The way of an article and the index on disk: files, paragraphs, chunks, vectors, versions."""
