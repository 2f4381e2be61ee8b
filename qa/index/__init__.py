"""The index: the one owner of stored documents, passages, vectors and keyword search (`base.Index`)."""
