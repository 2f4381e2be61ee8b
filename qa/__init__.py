"""reportqa: extractive question answering over a collection of reports, with verifiable citations."""
