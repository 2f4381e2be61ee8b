"""From files to documents: discovery, loaders, passage splitting, sentences."""
