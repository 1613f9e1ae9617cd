"""Training data for the default GLiNER2 model: one record format, converters, generators, mixing."""
