"""One router per resource; each calls the pipeline and holds no logic of its own."""
