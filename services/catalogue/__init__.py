"""The catalogue: matters, bundles, the joint form, search, admin, seed and the generator."""
