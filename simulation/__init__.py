"""The SimPy engine: time and chance, no clinical constants."""
