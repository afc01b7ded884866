"""iimsim: treatment-pathway simulator for the idiopathic inflammatory myopathies."""
__version__ = "0.1.0"
